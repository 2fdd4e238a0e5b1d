#!/usr/bin/env python3
# A delay line between two TUN devices: every IP packet read from one is written to the other
# DELAY_MS later. bench/pool-latency.bench.mjs uses it where the kernel has no tc netem: one device
# stays in the host namespace, the other is moved into the origin's, so every packet between
# gateway and origin (the TCP handshake included) crosses it once each way.
#
#   python3 bench/tun-delay.py IFNAME_A IFNAME_B DELAY_MS
#
# Prints "ready" once both devices exist; runs until killed (the devices go with it).
import fcntl
import heapq
import os
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main():
    a, b = tun(sys.argv[1]), tun(sys.argv[2])
    delay = float(sys.argv[3]) / 1000.0
    peer = {a: b, b: a}
    queue = []
    seq = 0
    print("ready", flush=True)
    while True:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, fd, packet = heapq.heappop(queue)
            try:
                os.write(fd, packet)
            except OSError:
                pass
        timeout = max(0.0, queue[0][0] - now) if queue else 1.0
        ready, _, _ = select.select([a, b], [], [], timeout)
        for fd in ready:
            while True:
                try:
                    packet = os.read(fd, 65536)
                except BlockingIOError:
                    break
                seq += 1
                heapq.heappush(queue, (time.monotonic() + delay, seq, peer[fd], packet))


if __name__ == "__main__":
    main()
