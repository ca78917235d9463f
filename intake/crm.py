"""The CRM webhooks (HubSpot, Salesforce) and the processor that starts onboardings from them."""

from __future__ import annotations

from fastapi import APIRouter

from intake import hubspot, salesforce
from intake.crm_processor import running

router = APIRouter(lifespan=running)
router.include_router(hubspot.router)
router.include_router(salesforce.router)
