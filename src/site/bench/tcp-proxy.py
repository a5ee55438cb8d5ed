#!/usr/bin/env python3
"""A TCP forwarder that a fault benchmark cuts and restores (src/site/bench/fault.sh).

    tcp-proxy.py LISTEN_PORT TARGET_HOST TARGET_PORT

SIGUSR1 cuts: every open connection is reset (SO_LINGER 0) and new ones are accepted and reset at
once, as a database that went away. SIGUSR2 restores forwarding. Each change is printed with its
epoch time in milliseconds, so the benchmark's analysis knows when the cut began and ended.
"""
import asyncio
import signal
import socket
import struct
import sys
import time

listen_port, target_host, target_port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
up = True
open_writers = set()


def reset(writer):
    sock = writer.get_extra_info("socket")
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.close()
    except OSError:
        pass


async def pump(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        open_writers.discard(writer)
        reset(writer)


async def handle(client_reader, client_writer):
    if not up:
        reset(client_writer)
        return
    try:
        server_reader, server_writer = await asyncio.open_connection(target_host, target_port)
    except OSError:
        reset(client_writer)
        return
    open_writers.update((client_writer, server_writer))
    asyncio.ensure_future(pump(client_reader, server_writer))
    asyncio.ensure_future(pump(server_reader, client_writer))


def cut():
    global up
    up = False
    for w in list(open_writers):
        reset(w)
    open_writers.clear()
    print(f"cut {int(time.time() * 1000)}", flush=True)


def restore():
    global up
    up = True
    print(f"restored {int(time.time() * 1000)}", flush=True)


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen_port, backlog=512)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, cut)
    loop.add_signal_handler(signal.SIGUSR2, restore)
    print(f"listening {listen_port} -> {target_host}:{target_port}", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
