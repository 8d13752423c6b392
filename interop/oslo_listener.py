"""Receive notifications with oslo.messaging's own Kafka notification listener.

Usage: oslo_listener.py BOOTSTRAP COUNT TIMEOUT_SECONDS
Listens on target topic "notifications" (priority info: Kafka topic notifications.info) with
oslo.messaging's kafka:// driver, exactly as an OpenStack consumer would, and prints one JSON
line per notification received: event type, publisher id, payload id, outcome. Exits after
COUNT notifications, or with status 1 at the timeout.
"""
import json
import sys
import threading

from oslo_config import cfg
import oslo_messaging


def main():
    bootstrap, count, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    received = []
    done = threading.Event()

    class Endpoint:
        def info(self, ctxt, publisher_id, event_type, payload, metadata):
            received.append({"event_type": event_type, "publisher_id": publisher_id,
                             "id": payload.get("id"), "outcome": payload.get("outcome"),
                             "message_id": metadata.get("message_id"), "timestamp": metadata.get("timestamp")})
            if len(received) >= count:
                done.set()

    conf = cfg.ConfigOpts()
    conf([], project="audittrail-interop")
    transport = oslo_messaging.get_notification_transport(conf, url="kafka://%s" % bootstrap)
    listener = oslo_messaging.get_notification_listener(
        transport, [oslo_messaging.Target(topic="notifications")], [Endpoint()], executor="threading")
    listener.start()
    finished = done.wait(timeout)
    listener.stop()
    listener.wait()
    for item in received:
        print(json.dumps(item))
    sys.exit(0 if finished else 1)


if __name__ == "__main__":
    main()
