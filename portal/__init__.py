"""The customer's side: a personal link to the company's onboarding plan, and what a person can do there.

tokens   the personal link: opaque (encrypted), signed, expiring, keys rotating
store    what the portal keeps: revocations, one-time codes, forms already acted on
guard    CSRF, trusted browsers, rate limits: the checks before anything is shown or done
codes    the one-time code sent by email when a link is expired or opened in a new browser
plan     the plan as the onboarding answers it (query `get_plan`), and who may do what
actions  a form becomes a message of the catalogue, sent like a CSM's action
routes   the pages (FastAPI, server-rendered jinja2), mounted in the intake app
"""
