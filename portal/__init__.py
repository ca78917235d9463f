"""The customer's side: a personal link to the company's onboarding plan, and what a person can do there.

tokens   the personal link: opaque (encrypted), signed, expiring, keys rotating
store    what the portal keeps: revocations, one-time codes, forms already acted on
guard    CSRF, trusted browsers, rate limits: the checks before anything is shown or done
codes    the one-time code sent by email when a link is expired or opened in a new browser
plan     the plan as the onboarding answers it (query `get_plan`), and who may do what
actions  a form becomes a message of the catalogue, sent like a CSM's action
visit    one request: the link's holder admitted (or refused with a page), their plan, their browser
acting   a form acted on once, rate-limited, and the page saying what happened
pages    templates/portal/*.html.jinja rendered
i18n     the words in en, ru, ms (each locale's in texts_<locale>), and which locale a page speaks
routes   the endpoints (FastAPI, server-rendered), mounted in the intake app
"""
