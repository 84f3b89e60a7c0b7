#!/usr/bin/env bash
# Build the wheel as README "With pip" does (`pip wheel --no-deps -w dist .` in a clone named
# crm_sales_process) and check what it installs under odoo/addons/crm_sales_process/: the addon
# (manifest, code, tests/) and none of the repository's tooling (.ci/, bench/, scripts/).
# The clone is of this checkout, with its work tree's changes (tracked and new files) on top.
#   WHEEL_PYTHON  Python whose pip builds the wheel (needs PyPI for whool)  [$ODOO_VENV's, else python3]
set -euo pipefail
REPO_DIR=$(cd "$(dirname "$0")/.." && pwd)
MODULE=crm_sales_process
ODOO_VENV=${ODOO_VENV:-$HOME/odoo-19.0-venv}
log() { printf '[%s] %s\n' "$MODULE" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$MODULE" "$*" >&2; exit 1; }

if [ -n "${WHEEL_PYTHON:-}" ]; then
    python=$WHEEL_PYTHON
elif [ -x "$ODOO_VENV/bin/python" ]; then
    python=$ODOO_VENV/bin/python
else
    python=python3
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
copy="$tmp/$MODULE"
start=$(date +%s)
git clone -q --no-local "$REPO_DIR" "$copy"
# the work tree's state: changed and new files (not the git-ignored ones), deletions
(cd "$REPO_DIR" && git ls-files -z --cached --others --exclude-standard) \
    | (cd "$REPO_DIR" && while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done) \
    | (cd "$REPO_DIR" && tar --null -cf - -T -) | tar -xf - -C "$copy"
(cd "$REPO_DIR" && git ls-files -z --deleted) | (cd "$copy" && xargs -0 -r rm -f --)
(
    cd "$copy"
    git add -A
    git diff --cached --quiet \
        || git -c user.name=check_wheel -c user.email=check_wheel@localhost commit -q -m "work tree"
)

log "building the wheel in a clone named $MODULE ($python -m pip wheel --no-deps)"
(cd "$copy" && PIP_DISABLE_PIP_VERSION_CHECK=1 "$python" -m pip wheel -q --no-deps -w "$tmp/dist" .) || die "the wheel build failed"
wheels=("$tmp"/dist/odoo_addon_"$MODULE"-*.whl)
[ -f "${wheels[0]}" ] || die "no odoo_addon_$MODULE wheel built: $(ls "$tmp/dist")"

"$python" - "${wheels[0]}" "$MODULE" <<'PY'
import sys
import zipfile

wheel_path, module = sys.argv[1:]
prefix = f"odoo/addons/{module}/"
with zipfile.ZipFile(wheel_path) as wheel:
    names = wheel.namelist()
    record = next(n for n in names if n.endswith(".dist-info/RECORD"))
    recorded = [line.split(",", 1)[0] for line in wheel.read(record).decode().splitlines()]
addon = sorted(name[len(prefix):] for name in names if name.startswith(prefix))
top = sorted({name.split("/", 1)[0] + ("/" if "/" in name else "") for name in addon})
print(f"{wheel_path.rsplit('/', 1)[-1]}: {len(names)} files, {len(addon)} in {prefix}")
print("  " + " ".join(top))
errors = []
for folder in (".ci", "bench", "scripts"):
    inside = [name for name in addon if name.startswith(folder + "/")]
    if inside:
        errors.append(f"{prefix}{folder}/ is in the wheel ({len(inside)} files, e.g. {inside[0]})")
for name in ("__manifest__.py", "__init__.py", "models/__init__.py", "tests/__init__.py"):
    if name not in addon:
        errors.append(f"{prefix}{name} is missing from the wheel")
if sorted(recorded) != sorted(names):
    errors.append("the wheel's RECORD does not list exactly its files")
for error in errors:
    print("ERROR:", error)
sys.exit(1 if errors else 0)
PY
log "wheel check passed in $(( $(date +%s) - start )) s"
