"""The read model: every question a page, a route, an export or the report asks, answered once.

Each function takes the caller's ``Scope`` and puts it in the SQL, so what is outside the scope is
never read and looks exactly like what does not exist. API routes, dashboard pages, CSV/XLSX
exports and the offline report only render what these functions return, so they cannot disagree.
"""
