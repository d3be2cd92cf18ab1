"""moto server with requests handled one at a time.

moto's own `moto_server` runs werkzeug with threaded=True, and its DynamoDB
model takes no lock between checking a condition and writing the item, so two
concurrent conditional writes can both pass. DynamoDB guarantees they never
do. Serving one request at a time gives the emulator DynamoDB's atomicity, so
the concurrency tests test our conditions, not the emulator's races.
"""
import argparse

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
