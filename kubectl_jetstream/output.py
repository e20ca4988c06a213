"""Printers: kubectl-style tables (upper-case headers, no borders) and json | yaml documents.

tabulate and yaml are imported when a table or a YAML document is printed: every command's --help imports this
module and needs neither."""
import json


def table(ctx, headers, rows):
    if rows:
        ctx.echo(table_text(headers, rows))


def table_text(headers, rows):
    from tabulate import tabulate

    text = tabulate(rows, headers=[h.upper() for h in headers], tablefmt="plain", disable_numparse=True)
    return "\n".join(line.rstrip() for line in text.splitlines())


def dump(ctx, data, fmt):
    ctx.echo(render(data, fmt).rstrip("\n"))


def render(data, fmt):
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
    if fmt == "yaml":
        return to_yaml(data)
    raise ValueError(fmt)


def to_yaml(data):
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    # Multi-line strings as blocks; keep key order as given.
    def str_presenter(dumper, value):
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, str_presenter)
    return yaml.dump(data, Dumper=Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False)


def add_output_argument(parser, choices=("json", "yaml")):
    parser.add_argument("-o", "--output", choices=choices, default=None,
                        help="output format: " + "|".join(choices) + " (default: a table)")


def join_subjects(subjects, limit=3):
    subjects = list(subjects or [])
    shown = ", ".join(subjects[:limit])
    return shown + (f" (+{len(subjects) - limit})" if len(subjects) > limit else "")
