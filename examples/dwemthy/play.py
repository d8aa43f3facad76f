"""Plays one fixed game of Dwemthy's Array against a Redis server.

Usage: python play.py [port]   (default 6379; host 127.0.0.1)
The game is deterministic (seeded), so two servers that behave alike print the
same story.
"""

import sys

import redis

import dwemthy

MONSTERS = [
    {"name": "IndustrialRaverMonkey", "life": 46, "strength": 35, "charisma": 91, "weapon": 2},
    {"name": "DwarvenAngel", "life": 540, "strength": 6, "charisma": 144, "weapon": 50},
    {"name": "AssistantViceTentacleAndOmbudsman", "life": 320, "strength": 6, "charisma": 144, "weapon": 50},
    {"name": "TeethDeer", "life": 655, "strength": 192, "charisma": 19, "weapon": 109},
    {"name": "IntrepidDecomposedCyclist", "life": 901, "strength": 560, "charisma": 422, "weapon": 105},
    {"name": "Dragon", "life": 1340, "strength": 451, "charisma": 1020, "weapon": 939},
]


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 6379
    conn = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
    conn.flushdb()
    dw = dwemthy.Array.new(conn, *MONSTERS)
    print("[{} monsters wait in the array.]".format(conn.llen(dwemthy.Array.list_key) + 1))
    rabbit = dwemthy.Rabbit(dw, seed=7)
    moves = [rabbit.lettuce, rabbit.bomb, rabbit.sword, rabbit.boomerang]
    for turn in range(40):
        if rabbit.life <= 0 or dw.defeated:
            break
        moves[turn % len(moves)]()
    print("[Rabbit ends with {} life points and {} bombs.]".format(rabbit.life, rabbit.bombs))
    if not dw.defeated:
        print("[{} still stands with {} life.]".format(dw["name"], dw["life"]))
        print("[Monster hash: {}]".format(sorted(conn.hgetall(dw.current).items())))
    conn.close()


if __name__ == "__main__":
    main()
