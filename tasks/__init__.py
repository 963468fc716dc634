"""Thin Prefect tasks: each wraps one call into pingan's core or adapters.

Tasks take campaign codes and dates, never rows: the work per cell happens in SQL, so the
number of task runs per tick does not grow with the number of cells. Results are small and
not persisted (``persist_result=False``).
"""
