"""Seed JupyterHub's database with users bench-00001..N through its own ORM, as its API would (each with the
default `user` role), run inside the running hub's container. Its REST API creates ~10-15 users per second on
a 2-core machine, so 10,000 users that way would take a quarter of an hour."""

import sys

from jupyterhub import orm

url, n = sys.argv[1], int(sys.argv[2])
db = orm.new_session_factory(url)()
role = orm.Role.find(db, "user")
have = {name for (name,) in db.query(orm.User.name)}
for i in range(1, n + 1):
    name = f"bench-{i:05d}"
    if name in have:
        continue
    user = orm.User(name=name)
    user.roles.append(role)
    db.add(user)
    if i % 1000 == 0:
        db.commit()
db.commit()
print(db.query(orm.User).count())
