"""Sensors: the loop's trigger. Named ``<job>_on_<event>``; they keep a cursor and derive run keys from incidents."""
