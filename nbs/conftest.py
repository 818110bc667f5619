"""Al final de `make test`: cuánto tardó cada cuaderno en nbval (la suma de sus celdas) y las pruebas del paquete."""
from collections import defaultdict
from pathlib import Path


def pytest_terminal_summary(terminalreporter):
    seconds = defaultdict(float)
    for reports in terminalreporter.stats.values():
        for report in reports:
            if hasattr(report, "duration") and hasattr(report, "nodeid"):
                path = report.nodeid.split("::")[0]
                seconds[Path(path).name if path.endswith(".ipynb") else "pruebas del paquete (tests/)"] += report.duration
    if not seconds: return
    write = terminalreporter.write_line
    terminalreporter.section("tiempo por cuaderno")
    for name, s in sorted(seconds.items(), key=lambda kv: -kv[1]):
        write(f"{s / 60:6.1f} min ({s:5.0f} s)  {name}")
    total = sum(seconds.values())
    write(f"{total / 60:6.1f} min ({total:5.0f} s)  en total")
