"""The HTTP routes of the Chalice app, read without importing it (the CDK app imports no runtime code).

Chalice dispatches on API Gateway's *resource path* (``/merchants/{merchant_id}``), so a single
greedy proxy resource answers 405 everywhere; API Gateway needs one resource per Chalice route.
The routes come from the committed OpenAPI document the app serves at ``GET /openapi.json`` (its
owner keeps it equal to the route table, and a test checks that). When the document is absent the
``@app.route(...)`` decorators of ``app.py`` (and of its route modules) are read from their syntax
trees instead.
"""

from __future__ import annotations

import ast
import contextlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from switchboard_infra import paths

HTTP_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"})
_PARAMETER = re.compile(r"^\{[A-Za-z_][A-Za-z0-9_]*\}$")


class RouteDiscoveryError(ValueError):
    """Neither the OpenAPI document nor app.py yields a usable route table."""


@dataclass(frozen=True, order=True)
class Route:
    path: str
    method: str

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(p for p in self.path.split("/") if p)


def discover(
    openapi: Path = paths.API_OPENAPI_DOCUMENT, app_module: Path = paths.API_APP_MODULE
) -> list[Route]:
    if openapi.exists():
        routes = from_openapi(json.loads(openapi.read_text()))
        source = openapi
    elif app_module.exists():
        routes = app_routes(app_module)
        source = app_module
    else:
        raise RouteDiscoveryError(f"the API has neither {openapi} nor {app_module}")
    if not routes:
        raise RouteDiscoveryError(f"{source} declares no routes")
    for route in routes:
        _check(route, source)
    return sorted(set(routes))


def from_openapi(document: dict[str, object]) -> list[Route]:
    routes: list[Route] = []
    path_items = document.get("paths") or {}
    if not isinstance(path_items, dict):
        raise RouteDiscoveryError("the OpenAPI document's 'paths' is not an object")
    for path, item in path_items.items():
        for method in item or {}:
            if method.upper() in HTTP_METHODS:
                routes.append(Route(path=path, method=method.upper()))
    return routes


def app_routes(app_module: Path = paths.API_APP_MODULE) -> list[Route]:
    """The routes of ``app.py`` and of the route modules it registers (``chalicelib/routes``)."""
    modules = [app_module, *sorted((app_module.parent / "chalicelib" / "routes").glob("*.py"))]
    return [route for module in modules for route in from_chalice_source(module.read_text())]


def from_chalice_source(source: str) -> list[Route]:
    """``@<anything>.route(path, methods=[...])`` decorators; a path may concatenate module constants."""
    tree = ast.parse(source)
    constants: dict[str, str] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name):
                with contextlib.suppress(ValueError):
                    constants[target.id] = _string(statement.value, constants)
    routes: list[Route] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            if not (
                isinstance(decorator, ast.Call)
                and isinstance(decorator.func, ast.Attribute)
                and decorator.func.attr == "route"
                and decorator.args
            ):
                continue
            path = _string(decorator.args[0], constants)
            methods: list[str] = ["GET"]
            for keyword in decorator.keywords:
                if keyword.arg == "methods":
                    methods = list(ast.literal_eval(keyword.value))
            routes += [Route(path=path, method=m.upper()) for m in methods]
    return routes


def _string(node: ast.expr, constants: dict[str, str]) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _string(node.left, constants) + _string(node.right, constants)
    raise ValueError(f"not a static string: {ast.unparse(node)}")


def _check(route: Route, source: Path) -> None:
    if route.method not in HTTP_METHODS:
        raise RouteDiscoveryError(f"{source}: {route.method} {route.path} is not an HTTP method")
    if not route.path.startswith("/"):
        raise RouteDiscoveryError(f"{source}: route path {route.path!r} must start with '/'")
    for part in route.parts:
        if "{" in part and not _PARAMETER.match(part):
            raise RouteDiscoveryError(f"{source}: {route.path} has a partial path parameter {part!r}")
