"""Dwemthy's Array with its monsters kept in Redis.

A port to Python 3 and redis-py 8 of the game from the project's seed article:
each monster is a Redis hash (name, life, strength, charisma, weapon) under a
random key, and the keys wait their turn in a Redis list used as a queue. The
rabbit fights the monster at the head of the list; when it dies the next one
emerges.

The article's fragments were mended: Python 3 prints, the monster key is the
text of a UUID (not the UUID object), hset(mapping=...) replaces the
deprecated hmset, and the parts the article leaves out are written in its
spirit.
"""

import random
import uuid


class Array(object):
    """The queue of monsters, acting like a dict of the current monster."""

    list_key = "dwemthys_array"

    def __init__(self, conn):
        self.conn = conn
        self.current = None
        self.next_enemy()

    @classmethod
    def new(cls, conn, *bad_guys):
        """Create a new set of problems for our hero to boomerang!"""
        conn.delete(cls.list_key)
        # Give each bad guy a cozy spot in the array!
        for bad_guy in bad_guys:
            key = "monster:" + str(uuid.uuid4())
            conn.hset(key, mapping=bad_guy)
            conn.rpush(cls.list_key, key)
        return cls(conn)

    def next_enemy(self):
        """Bring out the next enemy for our rabbit to face!"""
        # We're moving on: the fallen monster's hash goes away.
        if self.current is not None:
            self.conn.delete(self.current)

        enemy_key = self.conn.lpop(self.list_key)
        self.current = enemy_key
        if enemy_key is None:
            # Like a boss!
            print("[Whoa.  You decimated Dwemthy's Array!]")
        else:
            # Get the new enemy ready!
            print("[Get ready. {} has emerged!]".format(self["name"]))

    @property
    def defeated(self):
        return self.current is None

    def __setitem__(self, key, value):
        self.conn.hset(self.current, key, value)

    def __getitem__(self, key):
        value = self.conn.hget(self.current, key)
        # Hashes only store strings!
        if key != "name":
            return int(value)
        return value

    def hit(self, damage, rng):
        """The current monster takes `damage`; it may power up first."""
        power_up = rng.randrange(max(self["charisma"], 1))
        if power_up % 9 == 7:
            self.conn.hincrby(self.current, "life", power_up // 4)
            print("[{} magick powers up {}!]".format(self["name"], power_up))
        life = self.conn.hincrby(self.current, "life", -damage)
        if life <= 0:
            print("[{} has died.]".format(self["name"]))


class Rabbit(object):
    """Our hero, armed with a boomerang, a sword, lettuce and three bombs."""

    def __init__(self, dw, seed=1):
        self.dw = dw
        self.rng = random.Random(seed)
        self.life = 10
        self.strength = 2
        self.charisma = 44
        self.bombs = 3

    def hit(self, damage):
        power_up = self.rng.randrange(self.charisma)
        if power_up % 9 == 7:
            self.life += power_up // 4
            print("[Rabbit magick powers up {}!]".format(power_up))
        self.life -= damage
        if self.life <= 0:
            print("[Rabbit has died!]")

    def fight(self, weapon):
        if self.life <= 0:
            print("[Rabbit is too dead to fight!]")
            return
        if self.dw.defeated:
            print("[There is nobody left to fight.]")
            return
        # Attack the opponent
        your_hit = self.rng.randrange(max(self.strength + weapon, 1))
        print("[You hit with {} points of damage!]".format(your_hit))
        self.dw.hit(your_hit, self.rng)
        # Retaliation
        if self.dw["life"] > 0:
            enemy_hit = self.rng.randrange(max(self.dw["strength"] + self.dw["weapon"], 1))
            print("[Your enemy hit with {} points of damage!]".format(enemy_hit))
            self.hit(enemy_hit)
        else:
            self.dw.next_enemy()

    def boomerang(self):
        """The little boomerang."""
        self.fight(13)

    def sword(self):
        """The hero's sword is unlimited!!"""
        self.fight(self.rng.randrange(4 + (self.dw["life"] % 10) ** 2))

    def lettuce(self):
        """Lettuce builds your strength and extra roughage flies in the enemy's face!!"""
        lettuce = self.rng.randrange(self.charisma)
        print("[Healthy lettuce gives you {} life points!!]".format(lettuce))
        self.life += lettuce
        self.fight(0)

    def bomb(self):
        """Bombs, but you only have three!!"""
        if self.bombs == 0:
            print("[UHN!! You're out of bombs!!]")
            return
        self.bombs -= 1
        self.fight(86)
