"""The package's shape: no module grows past what one reader holds in mind (issue 12: about 400 lines)."""
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "kubectl_jetstream"
MAX_LINES = 420


def test_no_module_is_over_the_line_limit():
    counts = {str(path.relative_to(PACKAGE.parent)): len(path.read_text(encoding="utf-8").splitlines())
              for path in sorted(PACKAGE.rglob("*.py"))}
    assert counts, "no module found"
    over = {name: lines for name, lines in counts.items() if lines > MAX_LINES}
    assert not over, f"modules over {MAX_LINES} lines: {over}"
