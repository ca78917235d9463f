"""Where the engine meets the world: configuration, the database, email delivery, the payload codec, the roster.

The domain (onboarding/) knows none of these; activities, scripts and the intake use them.
"""
