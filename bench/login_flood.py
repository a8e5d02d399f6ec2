"""Logs in N times at once, from N source addresses (127.0.x.y), half with a wrong password, and
prints how the server answered. Used by `scripts/bench logins`:

    python3 bench/login_flood.py PORT EMAIL PASSWORD N
"""
import http.client
import json
import sys
import threading
import time
from collections import Counter

port, email, password, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
answers = []


def login(i):
    source = "127.0.%d.%d" % (1 + i // 200, 2 + i % 200)
    connection = http.client.HTTPConnection("127.0.0.1", port, source_address=(source, 0), timeout=120)
    body = json.dumps({"email": email, "password": password if i % 2 == 0 else "a wrong password"})
    connection.request("POST", "/api/v1/auth/login", body, {"content-type": "application/json"})
    response = connection.getresponse()
    response.read()
    answers.append(response.status)


threads = [threading.Thread(target=login, args=(i,)) for i in range(count)]
started = time.time()
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
counted = ", ".join("%d × %d" % (n, status) for status, n in sorted(Counter(answers).items()))
print("%d logins in %.1f s: %s" % (count, time.time() - started, counted))
