"""The dashboard pages under /dashboards: plotly figures rendered on the server, shown in the browser."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

router = APIRouter(prefix="/dashboards", tags=["dashboards"], include_in_schema=False)

COOKIE = "liftwatch_token"

_SIGN_IN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>liftwatch</title></head>
<body><h1>liftwatch</h1>
<form method="post" action="/dashboards/sign-in">
<label>Token <input name="token" type="password" autocomplete="off" required></label>
<button type="submit">Sign in</button></form></body></html>"""


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page() -> HTMLResponse:
    """The form that takes an API token."""
    return HTMLResponse(_SIGN_IN)


@router.post("/sign-in")
async def sign_in(request: Request) -> RedirectResponse:
    """Keep the token in a cookie and go to the dashboards."""
    # The form is parsed by hand so the app needs no multipart library for one field.
    token = parse_qs((await request.body()).decode("utf-8", "replace")).get("token", [""])[0]
    response = RedirectResponse("/dashboards/", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
    return response
