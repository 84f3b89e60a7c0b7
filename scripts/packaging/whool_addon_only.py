# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""PEP 517 build backend: whool, with the addon only in the wheel.

whool (the build backend of OCA's addon wheels) puts every git-tracked file of the folder
holding pyproject.toml into the wheel, and has no setting to leave some out (1.3.1; an open
request upstream, sbidoul/whool#36). This repository's root is the addon and also holds the
tools to develop it: those go into the wheel too. This backend lets whool build everything as
usual, then takes the workshop's folders out of the wheel it built (and their lines out of its
RECORD). The addon, its tests included (as in OCA's wheels), stays as whool packs it.
"""

import os
import zipfile
from pathlib import Path

from whool.buildapi import (  # noqa: F401 -- the backend's other hooks, as whool's
    build_editable,
    build_sdist,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)
from whool.buildapi import build_wheel as _whool_build_wheel

# Folders at the addon's root that are no part of the addon: CI, benchmarks, developer scripts
WORKSHOP = (".ci", "bench", "scripts")


def _in_workshop(path):
    """Whether a wheel entry (odoo/addons/<addon>/...) lies in one of the WORKSHOP folders."""
    parts = path.split("/")
    return len(parts) > 4 and parts[:2] == ["odoo", "addons"] and parts[3] in WORKSHOP


def _strip_workshop(wheel_path):
    tmp_path = wheel_path.with_name(wheel_path.name + ".tmp")
    with (
        zipfile.ZipFile(wheel_path) as wheel,
        zipfile.ZipFile(tmp_path, "w", zipfile.ZIP_DEFLATED) as stripped,
    ):
        for info in wheel.infolist():
            if _in_workshop(info.filename):
                continue
            data = wheel.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                lines = data.decode("utf-8").splitlines(keepends=True)
                data = "".join(
                    line for line in lines if not _in_workshop(line.split(",", 1)[0])
                ).encode("utf-8")
            stripped.writestr(info, data)
    os.replace(tmp_path, wheel_path)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = _whool_build_wheel(wheel_directory, config_settings, metadata_directory)
    _strip_workshop(Path(wheel_directory) / name)
    return name
