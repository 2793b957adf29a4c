"""okr-kpi: KPIs and OKRs kept, scored and checked in the warehouse."""

__version__ = "0.1.0"
