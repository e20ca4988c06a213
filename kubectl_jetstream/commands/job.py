"""job: written by the distribution work (issue 5)."""


def add_arguments(parser):
    pass


def run(ctx, args):
    from ..errors import UsageError

    raise UsageError("job is not built yet")
