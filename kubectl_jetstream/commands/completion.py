"""completion: print a bash or zsh completion script for the standalone `kubectl-jetstream` command.

`kubectl jetstream ...` completes through kubectl itself (1.26 and later), which runs the
`kubectl_complete-jetstream` executable from PATH; see kubectl_jetstream/completion.py.
"""
SHELLS = ("bash", "zsh")


def add_arguments(parser):
    parser.add_argument("shell", metavar="SHELL", choices=SHELLS + ("__complete",),
                        help="bash or zsh")
    # `completion __complete -- WORDS...`: what the printed scripts call to get candidates.
    parser.add_argument("words", nargs="*", help=__import__("argparse").SUPPRESS)
    parser.epilog = ("bash: source <(kubectl-jetstream completion bash)   "
                     "zsh: source <(kubectl-jetstream completion zsh)")


def run(ctx, args):
    from ..completion import SCRIPTS, print_completion

    if args.shell == "__complete":
        print_completion(args.words or [""], out=ctx.stdout)
        return 0
    ctx.stdout.write(SCRIPTS[args.shell])
    ctx.stdout.flush()
    return 0
