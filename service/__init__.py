"""The engine's use cases, shared by every way in: the starter, the intake, the admin script, the simulator.

`service.start` starts an onboarding from a signed contract; `service.send` delivers a message
from the catalogue (onboarding/messages.py) to a running onboarding; `service.bodies` reads a
JSON document received from outside, refusing what cannot be parsed with a sentence.
"""
