# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Domain
from odoo.tools.safe_eval import safe_eval

# Field types an opportunity's field criterion may not use: nothing to "fill in" there
UNFILLABLE_TYPES = ("binary", "json", "properties", "one2many")


class CrmSalesProcessExitCriterion(models.Model):
    """What an opportunity must meet before it moves forward from a step.

    Each kind (``criterion_type``) is evaluated by its own method, called in batch for every
    criterion of that kind: ``_evaluate_<kind>(leads, vals)`` returns, per lead, the items of
    the step's checklist as ``[(label, met)]`` (``vals``: values about to be written with a
    move, which count). ``_describe_unmet_<kind>(labels)`` says what is left to do in a
    refused move's error. Another addon adds a kind with ``selection_add`` and these methods.
    """

    _name = "crm.sales.process.exit.criterion"
    _inherit = ["crm.sales.process.checked.values"]
    _description = "Sales Process Step Exit Criterion"
    _order = "step_id, sequence, id"
    _check_company_auto = True

    step_id = fields.Many2one(
        "crm.sales.process.step", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="step_id.company_id", store=True, index=True)
    sequence = fields.Integer(default=10)
    criterion_type = fields.Selection(
        [
            ("field", "Field Filled In"),
            ("activities", "Key Activities Done"),
            ("domain", "Condition"),
        ],
        string="Type",
        required=True,
        default="field",
        help="Field Filled In: a field of the opportunity has a value (zero amounts count as "
        "empty). Key Activities Done: none of the key activities scheduled on the step is "
        "still open. Condition: the opportunity matches a filter, e.g. Expected Revenue > 0.",
    )
    # Chosen by name among the opportunity's fields (what any user may read), the field's
    # definition looked up from it: only administrators may read ir.model.fields.
    field_name = fields.Selection(selection="_selection_field_name", string="Field")
    # The definition: deleting the field (its module uninstalled) deletes the criterion.
    field_id = fields.Many2one(
        "ir.model.fields",
        string="Field Definition",
        compute="_compute_field_id",
        store=True,
        ondelete="cascade",
    )
    domain = fields.Char(
        string="Condition",
        default="[]",
        help="The opportunities that meet the criterion, as a filter on opportunities.",
    )
    name = fields.Char(
        string="Label",
        translate=True,
        help="Shown on the opportunity's checklist and in the error of a refused move. "
        "Empty: the field's label.",
    )

    def _selection_field_name(self):
        Lead = self.env["crm.lead"]
        return sorted(
            (
                (name, field._description_string(self.env))
                for name, field in Lead._fields.items()
                if field.store and field.type not in UNFILLABLE_TYPES
            ),
            key=lambda item: item[1].lower(),
        )

    @api.depends("field_name")
    def _compute_field_id(self):
        # the one place that reads field definitions, as superuser
        Fields = self.env["ir.model.fields"].sudo()
        for criterion in self:
            field = Fields._get("crm.lead", criterion.field_name) if criterion.field_name else None
            criterion.field_id = field.sudo(False) if field else False

    @api.constrains("criterion_type", "field_name", "domain", "name")
    def _check_criterion(self):
        Lead = self.env["crm.lead"]
        # a dynamic selection: the ORM does not check its values
        field_names = dict(self._selection_field_name())
        for criterion in self:
            step = criterion.step_id.display_name
            if criterion.criterion_type == "field" and not criterion.field_name:
                raise ValidationError(
                    self.env._(
                        "An exit criterion of step “%(step)s” checks a field: choose the field.",
                        step=step,
                    )
                )
            if criterion.field_name and criterion.field_name not in field_names:
                raise ValidationError(
                    self.env._(
                        "An exit criterion of step “%(step)s” checks field “%(field)s”, which "
                        "opportunities do not have (or that cannot be filled in). Choose "
                        "another field.",
                        step=step,
                        field=criterion.field_name,
                    )
                )
            if criterion.criterion_type != "domain":
                continue
            if not criterion.name:
                raise ValidationError(
                    self.env._(
                        "An exit criterion of step “%(step)s” is a condition: give it a label, "
                        "shown on the opportunity's checklist.",
                        step=step,
                    )
                )
            try:
                Domain(criterion._get_domain()).validate(Lead)
            except (ValueError, SyntaxError, TypeError, NameError) as error:
                raise ValidationError(
                    self.env._(
                        "The condition of exit criterion “%(criterion)s” of step “%(step)s” is "
                        "not a valid filter on opportunities: %(error)s",
                        criterion=criterion.name,
                        step=step,
                        error=error,
                    )
                ) from error

    # ------------------------------------------------------------
    # EVALUATION: one method per kind
    # ------------------------------------------------------------

    def _evaluate(self, leads, vals=None):
        """{lead: [(kind, label, met)]}: the checklist items of these criteria on ``leads``,
        kind by kind; ``vals``: values about to be written with a move, which count."""
        items = {lead: [] for lead in leads}
        for kind, criteria in self.grouped("criterion_type").items():
            evaluate = getattr(criteria, f"_evaluate_{kind}")
            for lead, kind_items in evaluate(leads, vals or {}).items():
                items[lead] += [(kind, label, met) for label, met in kind_items]
        return items

    @api.depends("name", "field_name", "criterion_type")
    def _compute_display_name(self):
        kinds = dict(self._fields["criterion_type"]._description_selection(self.env))
        for criterion in self:
            criterion.display_name = criterion._get_label() or kinds.get(criterion.criterion_type)

    def _get_label(self):
        self.ensure_one()
        if self.name:
            return self.name
        field = self.env["crm.lead"]._fields.get(self.field_name)
        return field._description_string(self.env) if field else ""

    def _evaluate_field(self, leads, vals):
        # a field that vanished from the model (its module being uninstalled, the registry
        # not reloaded yet) is no criterion rather than breaking every move
        criteria = self.filtered(lambda criterion: criterion.field_name in leads._fields)
        return {
            lead: [
                (criterion._get_label(), lead._is_field_set(criterion.field_name, vals))
                for criterion in criteria
            ]
            for lead in leads
        }

    def _evaluate_activities(self, leads, vals):
        """One item per key activity of the step: met unless it is open on the lead."""
        open_activities = leads._get_key_activities(
            open_only=True, templates=self.step_id.key_activity_ids
        )
        return {
            lead: [
                (template.summary, (lead._origin.id, template.id) not in open_activities)
                for criterion in self
                for template in criterion.step_id.key_activity_ids
            ]
            for lead in leads
        }

    def _evaluate_domain(self, leads, vals):
        # as superuser: only whether the opportunity matches shows, whoever may read it
        records = leads.sudo()
        if vals:
            values = {name: value for name, value in vals.items() if name in leads._fields}
            records = records.browse([records.new(values, origin=lead)._ids[0] for lead in records])
        matching = {}
        for criterion in self:
            matching[criterion] = set(records.filtered_domain(criterion._get_domain())._ids)
        return {
            lead: [(criterion.name, record._ids[0] in matching[criterion]) for criterion in self]
            for lead, record in zip(leads, records, strict=True)
        }

    def _get_domain(self):
        self.ensure_one()
        return safe_eval(self.domain or "[]")

    @api.model
    def _describe_unmet(self, kind, labels):
        """What is left to do for unmet items of ``kind``, in a refused move's error."""
        describe = getattr(self, f"_describe_unmet_{kind}", None)
        if describe:
            return describe(labels)
        return self.env._("meet %(criteria)s", criteria=", ".join(f"“{label}”" for label in labels))

    @api.model
    def _describe_unmet_field(self, labels):
        return self.env._("fill in %(fields)s", fields=", ".join(labels))

    @api.model
    def _describe_unmet_activities(self, labels):
        return self.env._(
            "finish the key activities %(activities)s",
            activities=", ".join(f"“{label}”" for label in labels),
        )

    def _count_items(self):
        """How many checklist items these criteria give on an opportunity: one each, unless
        their kind says otherwise (``_count_items_<kind>``)."""
        return sum(
            getattr(criterion, f"_count_items_{criterion.criterion_type}", lambda: 1)()
            for criterion in self
        )

    def _count_items_activities(self):
        return len(self.step_id.key_activity_ids)
