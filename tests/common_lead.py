# Copyright 2026 crm_sales_process authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Kept for imports: the lead test data lives in tests/common.py."""

from .common import SalesProcessLeadCommon

__all__ = ["SalesProcessLeadCommon"]
