#!/usr/bin/env python3
"""docs/architecture.md agrees with the build: every component library (each
`ambit_library(ambit_*` under src/ and each `add_library(ambit_*` under api/)
is named in the page, and the page's dependency list (between the
`<!-- deps:begin -->` and `<!-- deps:end -->` markers) equals the direct
ambit_* dependencies the CMake files declare (DEPS and PRIVATE_DEPS).

Usage: architecture_test.py SOURCE_DIR          exit 0 when the page agrees, 1 otherwise
       architecture_test.py SOURCE_DIR --print  print the dependency list the page must hold
"""
import pathlib
import re
import sys

# Interface targets for third-party code (cmake/AmbitDeps.cmake), not components.
NOT_COMPONENTS = re.compile(r"^ambit_(dep_\w+|asio|warnings)$")
BEGIN, END = "<!-- deps:begin -->", "<!-- deps:end -->"


def libraries(src: pathlib.Path) -> dict[str, list[str]]:
    """Component library -> its direct ambit_* dependencies, from the CMake files."""
    libs: dict[str, list[str]] = {}
    for cmake in sorted((src / "src").rglob("CMakeLists.txt")):
        text = re.sub(r"#[^\n]*", "", cmake.read_text())
        for m in re.finditer(r"ambit_library\(\s*(ambit_\w+)(.*?)\)", text, re.S):
            deps = {d for d in re.findall(r"\bambit_\w+", m.group(2)) if not NOT_COMPONENTS.match(d)}
            libs[m.group(1)] = sorted(deps)
    for cmake in sorted((src / "api").rglob("CMakeLists.txt")):
        text = re.sub(r"#[^\n]*", "", cmake.read_text())
        for m in re.finditer(r"add_library\(\s*(ambit_\w+)", text):
            name = m.group(1)
            link = re.search(r"target_link_libraries\(\s*" + name + r"\b(.*?)\)", text, re.S)
            deps = re.findall(r"\bambit_\w+", link.group(1)) if link else []
            libs[name] = sorted(d for d in set(deps) if not NOT_COMPONENTS.match(d))
    return libs


def expected_block(libs: dict[str, list[str]]) -> str:
    width = max(len(n) for n in libs)
    lines = [f"{name:<{width}} → {' '.join(deps) if deps else '(none)'}" for name, deps in sorted(libs.items())]
    return "```\n" + "\n".join(lines) + "\n```"


def main() -> int:
    src = pathlib.Path(sys.argv[1])
    libs = libraries(src)
    if not libs:
        print("no ambit_* libraries found under src/ and api/: is SOURCE_DIR right?")
        return 1
    if "--print" in sys.argv[2:]:
        print(expected_block(libs))
        return 0
    page_path = src / "docs" / "architecture.md"
    page = page_path.read_text()
    failures = []
    for name in sorted(libs):
        if f"`{name}`" not in page:
            failures.append(f"{name} (a library in CMake) is not named in {page_path.name} (as `{name}`)")
    if BEGIN not in page or END not in page:
        failures.append(f"{page_path.name} has no dependency list between {BEGIN} and {END}")
    else:
        block = page.split(BEGIN, 1)[1].split(END, 1)[0].strip()
        if block != expected_block(libs):
            failures.append(f"the dependency list in {page_path.name} differs from the CMake files; "
                            f"it must read (tests/repo/architecture_test.py SOURCE_DIR --print):\n"
                            + expected_block(libs))
    for f in failures:
        print(f)
    if failures:
        return 1
    print(f"ok: {len(libs)} libraries documented with their dependencies")
    return 0


if __name__ == "__main__":
    sys.exit(main())
