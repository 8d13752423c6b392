"""Publish audit traffic with the real producers: keystonemiddleware + oslo.messaging's Kafka driver.

Usage: keystone_kafka_publisher.py BOOTSTRAP CALLS [SEED]
Drives keystonemiddleware's AuditMiddleware around a small WSGI app (the same four services,
audit maps and request mix as gen_corpus.py) with the `messagingv2` notification driver and
transport `kafka://BOOTSTRAP`, so oslo.messaging's own Kafka driver publishes every
audit.http.request / audit.http.response into topic notifications.info, unkeyed, exactly as an
OpenStack service does. Prints one JSON object: calls, raised, and the CADF ids published.
"""
import json
import logging
import random
import sys
import warnings

import gen_corpus


def main():
    bootstrap, calls = sys.argv[1], int(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20261123
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.CRITICAL)
    clock = gen_corpus.install_determinism(seed)
    rng = random.Random(seed)

    # Record what the notifier hands to the driver, to tell the caller which ids to expect.
    from oslo_messaging.notify import messaging as messaging_driver
    published = []
    original = messaging_driver.MessagingDriver.notify

    def notify(self, ctxt, message, priority, retry):
        published.append((message["event_type"], message["payload"]["id"]))
        return original(self, ctxt, message, priority, retry)

    messaging_driver.MessagingDriver.notify = notify

    # Each middleware gets its own transport; a service shutting down cleans them up, which
    # flushes the driver's confluent-kafka producer. Keep hold of them to do the same.
    from oslo_messaging._drivers import impl_kafka
    connections = []
    original_init = impl_kafka.ProducerConnection.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        connections.append(self)

    impl_kafka.ProducerConnection.__init__ = init
    _, stats = gen_corpus.capture_keystonemiddleware(
        rng, clock, calls, driver="messagingv2", transport_url="kafka://%s" % bootstrap)
    for connection in connections:
        connection.close()
    print(json.dumps({"calls": stats["calls"], "raised": stats["raised"],
                      "requests": sorted(i for t, i in published if t == "audit.http.request"),
                      "responses": sorted(i for t, i in published if t == "audit.http.response")}))


if __name__ == "__main__":
    main()
