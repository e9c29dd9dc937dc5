"""Test helpers shared by the test suite: real servers on loopback (see ``servers``) and their fixtures."""
