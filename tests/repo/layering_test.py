#!/usr/bin/env python3
"""The dependency direction between the proxies (docs/architecture.md): ztunnel
(src/node) and the waypoint (src/waypoint) both build on the shared runtime
(src/proxy); the waypoint never builds on ztunnel, and the runtime on neither.

Checked on the CMake graph (the same parse as architecture_test.py: every
`ambit_library` under src/, plus the executables' target_link_libraries under
apps/) and on the #include lines of the sources:
  - the link closure of ambit_waypoint and of the waypoint executable holds
    no library of src/node, src/inpod or src/dns except those in
    WAYPOINT_MAY_LINK;
  - the link closure of every src/proxy library holds no library of
    src/node, src/waypoint, src/inpod or src/dns;
  - no file under src/waypoint includes a src/node header except those in
    WAYPOINT_MAY_INCLUDE; no file under src/proxy includes a src/node or
    src/waypoint header.

Usage: layering_test.py SOURCE_DIR   exit 0 when the rules hold, 1 otherwise
"""
import pathlib
import re
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from architecture_test import NOT_COMPONENTS, libraries  # noqa: E402

# The waypoint still tracks its relays with a node::ConnectionTracker: that
# library alone (its metrics come from ambit_telemetry).
WAYPOINT_MAY_LINK = {"ambit_node_metrics"}
WAYPOINT_MAY_INCLUDE = {"node/connection_tracker.h"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def library_dirs(src: pathlib.Path) -> dict[str, str]:
    """Component library -> the src/ directory whose CMakeLists.txt defines it."""
    out = {}
    for cmake in sorted((src / "src").rglob("CMakeLists.txt")):
        text = re.sub(r"#[^\n]*", "", cmake.read_text())
        for m in re.finditer(r"ambit_library\(\s*(ambit_\w+)", text):
            out[m.group(1)] = cmake.parent.relative_to(src / "src").as_posix()
    return out


def executable_deps(src: pathlib.Path, name: str) -> list[str]:
    """The ambit_* libraries apps/<name> links."""
    text = re.sub(r"#[^\n]*", "", (src / "apps" / name / "CMakeLists.txt").read_text())
    m = re.search(r"target_link_libraries\(\s*" + re.escape(name) + r"\b(.*?)\)", text, re.S)
    if not m:
        return []
    return sorted({d for d in re.findall(r"\bambit_\w+", m.group(1)) if not NOT_COMPONENTS.match(d)})


def closure(graph: dict[str, list[str]], roots: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        lib = todo.pop()
        if lib in seen:
            continue
        seen.add(lib)
        todo.extend(graph.get(lib, []))
    return seen


def includes(src: pathlib.Path, directory: str):
    for path in sorted((src / "src" / directory).rglob("*")):
        if path.suffix in (".h", ".cc"):
            for header in INCLUDE.findall(path.read_text()):
                yield path.relative_to(src).as_posix(), header


def main() -> int:
    src = pathlib.Path(sys.argv[1])
    graph = libraries(src)
    dirs = library_dirs(src)
    for needed in ("ambit_waypoint", "ambit_proxy", "ambit_node"):
        if needed not in graph:
            print(f"{needed} is not defined under {src / 'src'}: is SOURCE_DIR right?")
            return 1
    failures = []

    ztunnel_side = {"node", "inpod", "dns"}
    for root, deps in (("ambit_waypoint", ["ambit_waypoint"]),
                       ("apps/waypoint", executable_deps(src, "waypoint"))):
        for lib in sorted(closure(graph, deps)):
            if dirs.get(lib) in ztunnel_side and lib not in WAYPOINT_MAY_LINK:
                failures.append(f"{root} links {lib} (src/{dirs[lib]}): the waypoint must not "
                                f"depend on ztunnel; share it through src/proxy instead")

    for lib in sorted(l for l, d in dirs.items() if d == "proxy"):
        for dep in sorted(closure(graph, [lib])):
            if dirs.get(dep) in ztunnel_side | {"waypoint"}:
                failures.append(f"{lib} links {dep} (src/{dirs[dep]}): the proxy runtime must "
                                f"not depend on either proxy")

    for path, header in includes(src, "waypoint"):
        if header.startswith(("node/", "inpod/", "dns/")) and header not in WAYPOINT_MAY_INCLUDE:
            failures.append(f"{path} includes {header}: the waypoint must not depend on ztunnel")
    for path, header in includes(src, "proxy"):
        if header.startswith(("node/", "inpod/", "dns/", "waypoint/")):
            failures.append(f"{path} includes {header}: the proxy runtime must not depend on "
                            f"either proxy")

    for f in failures:
        print(f)
    if failures:
        return 1
    print("ok: the waypoint and the proxy runtime do not depend on ztunnel")
    return 0


if __name__ == "__main__":
    sys.exit(main())
