"""The subcommands, one module each (add_arguments + run), and the one table of their names and help lines
(cli builds its parser from it; job, the parser of one verb)."""

COMMANDS = {
    "init": "Create or update streams and consumers to match streams.d",
    "diff": "Show field-level differences between the server and streams.d",
    "ls": "List the streams on the server",
    "info": "Show one stream's configuration, state and consumers",
    "consumers": "List consumers with their backlog and health, worst first",
    "check": "Check JetStream health: meta leader, replicas, limits, stuck consumers",
    "view": "Show a stream's messages, read-only (no consumer, no ack)",
    "export": "Write server streams as streams.d files",
    "purge": "Remove messages from streams",
    "delete": "Delete streams (and their consumers)",
    "recreate": "Delete streams and create them again from streams.d",
    "wait": "Wait until NATS and JetStream are ready",
    "version": "Print the plugin version (and the server's, when reachable)",
    "completion": "Print a shell completion script (bash or zsh)",
    "job": "Print a ConfigMap and Job that run this tool inside the cluster",
}
