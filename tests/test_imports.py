"""The package's imports, read statically (ast, imports inside functions included): every third-party package
imported is declared in pyproject.toml, and modules do not import each other in a cycle."""
import ast
import importlib.metadata
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "kubectl_jetstream"


def _modules():
    """{dotted name: path} of every module of the package."""
    found = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _is_package(name, modules):
    return modules[name].name == "__init__.py"


def _imports(name, path, modules):
    """(absolute module names imported, dynamic import prefixes) by one module, anywhere in its body."""
    package = name if _is_package(name, modules) else name.rpartition(".")[0]
    names, prefixes = set(), set()

    def absolute(module, level):
        if not level:
            return module or ""
        base = package.split(".")
        base = base[:len(base) - (level - 1)]
        return ".".join(base + ([module] if module else []))

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = absolute(node.module, node.level)
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)  # `from . import x`: x may be a module
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args):
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(absolute(first.value.lstrip("."), len(first.value) - len(first.value.lstrip("."))))
            elif isinstance(first, ast.JoinedStr) and first.values and isinstance(first.values[0], ast.Constant):
                # importlib.import_module(f".commands.{name}", __package__): any module under that prefix
                literal = first.values[0].value
                stripped = literal.lstrip(".")
                prefixes.add(absolute(stripped.rstrip("."), len(literal) - len(stripped)) if stripped.rstrip(".")
                             else absolute(None, len(literal) - len(stripped)))
    return names, prefixes


def import_graph():
    """{module: set of package modules it imports} (importing a.b.c also runs a and a.b)."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        names, prefixes = _imports(name, path, modules)
        edges = set()
        for imported in names:
            parts = imported.split(".")
            edges.update(".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in modules)
        for prefix in prefixes:
            edges.update(m for m in modules if m.startswith(prefix + "."))
        # A module's own packages are already being imported when it runs (a package's __init__ importing its
        # submodules, which import each other, is no cycle).
        edges -= {name} | {name.rsplit(".", i)[0] for i in range(1, name.count(".") + 1)}
        graph[name] = edges
    return graph


def import_cycles(graph):
    """The strongly connected groups of more than one module (Tarjan), as frozensets."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(frozenset(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return set(groups)


def test_the_graph_sees_imports_inside_functions_and_dynamic_ones():
    graph = import_graph()
    assert "kubectl_jetstream.kube.reach" in graph["kubectl_jetstream.connect"]  # inside endpoint()
    assert "kubectl_jetstream.commands.ls" in graph["kubectl_jetstream.cli"]  # importlib.import_module
    assert "kubectl_jetstream.endpoint" in graph["kubectl_jetstream.kube.reach"]
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {frozenset("abc")}
    assert "kubectl_jetstream.plan" not in graph["kubectl_jetstream.plan.actions"]  # its own package
    assert "kubectl_jetstream.plan.compare" in graph["kubectl_jetstream.plan.actions"]


def test_no_import_cycles():
    assert import_cycles(import_graph()) == set()


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _distributions_by_module():
    """{top-level importable name: canonical distribution name} of what is installed."""
    found = {}
    for dist in importlib.metadata.distributions():
        for file in dist.files or ():
            top = file.parts[0]
            if top.endswith(".py"):
                top = top[:-3]
            elif top.endswith((".dist-info", ".egg-info", ".data", ".pth")) or "." in top:
                continue
            found.setdefault(top, _canonical(dist.metadata["Name"]))
    return found


def test_every_imported_package_is_declared():
    declared = {_canonical(re.match(r"[A-Za-z0-9._-]+", requirement).group())
                for requirement in importlib.metadata.requires("kubectl-jetstream") or ()
                if "extra ==" not in requirement}
    owners = _distributions_by_module()
    sources = list((ROOT / PACKAGE).rglob("*.py")) + list((ROOT / "scripts").glob("*.py"))
    undeclared = set()
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            undeclared.update(f"{top} ({owners[top]}) in {path.relative_to(ROOT)}" for top in tops
                              if top != PACKAGE and top in owners and owners[top] not in declared)
    assert "nats-py" in declared and owners.get("nats") == "nats-py"  # the check itself sees what it should
    assert not undeclared, sorted(undeclared)


# The layers (docs/ARCHITECTURE.md): a module may import its own layer and those below it, never one above.
# Core: pure rules over files and API JSON. Edges: the network (NATS, Kubernetes) and the plugin's context.
# Commands: one per subcommand. Program: the parser and dispatch. `kube` is an edge of its own: it never
# reaches back into the NATS side or the context.
LAYERS = [
    ("core", {"errors", "units", "schema", "subjects", "kinds", "buckets", "resources", "spec", "plan", "health",
              "output", "confirm", "flags", "parsers", "completion", "options", "endpoint"}),
    ("edges", {"jetstream", "natsclient", "apply", "migrate", "kube", "connect", "context"}),
    ("commands", {"commands"}),
    ("program", {"cli", "__main__"}),
]


def _layer(module):
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    for rank, (_name, members) in enumerate(LAYERS):
        if top in members:
            return rank
    return None


def test_every_module_belongs_to_a_layer():
    unplaced = [m for m in import_graph() if m != PACKAGE and _layer(m) is None]
    assert not unplaced, f"add these to LAYERS (and docs/ARCHITECTURE.md): {unplaced}"


def test_no_module_imports_a_layer_above_its_own():
    upward = sorted(f"{m} -> {i}" for m, imported in import_graph().items() if m != PACKAGE
                    for i in imported if i != PACKAGE and _layer(i) > _layer(m))
    assert not upward, upward


def test_kube_never_reaches_back_into_the_nats_side_or_the_context():
    graph = import_graph()
    forbidden = {f"{PACKAGE}.{name}" for name in ("connect", "context", "jetstream", "natsclient", "apply",
                                                  "migrate")}
    back = sorted(f"{m} -> {i}" for m, imported in graph.items() if m.startswith(f"{PACKAGE}.kube")
                  for i in imported & forbidden)
    assert not back, back
