"""The baseline: what the old Python init Job did, for comparison with `kubectl-jetstream init`.

One nats-py connection and nats-py's JetStreamContext, strictly sequential: for every stream
`js.stream_info` and, when it is missing, `js.add_stream`; then for its consumer `js.consumer_info` and, when
missing, `js.add_consumer`. A second run over an in-sync server is the "no-op" pass (only info requests).

    python bench/baseline.py NATS_URL DEFINITIONS.json    # prints {"created": n, "writes": n, ...} as JSON
"""
import asyncio
import json
import sys

import nats
from nats.js.api import ConsumerConfig, StreamConfig
from nats.js.errors import NotFoundError


async def main(url, path):
    with open(path) as f:
        streams = json.load(f)
    nc = await nats.connect(url, connect_timeout=5)
    js = nc.jetstream(timeout=10)
    created = existing = writes = 0
    try:
        for item in streams:
            config = item["config"]
            name = config["name"]
            try:
                await js.stream_info(name)
                existing += 1
            except NotFoundError:
                await js.add_stream(StreamConfig.from_response(dict(config)))
                created += 1
                writes += 1
            for consumer in item["consumers"]:
                try:
                    await js.consumer_info(name, consumer["durable_name"])
                except NotFoundError:
                    await js.add_consumer(name, ConsumerConfig.from_response(dict(consumer)))
                    writes += 1
    finally:
        await nc.close()
    return {"streams": len(streams), "created": created, "existing": existing, "writes": writes}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
