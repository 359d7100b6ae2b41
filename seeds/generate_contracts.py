#!/usr/bin/env python3
"""Generate seeds/contracts.csv, the ILLUSTRATIVE contract set for City Tools API.

Every row this script writes is invented: it is not survey data and it does not describe
real contracts. Only the catalogue it draws on is real (the 33 authorities, their
suppliers and those suppliers' products). A few borough/system pairings are anchored to
public information (see ANCHORS); their dates, values and ratings are still invented.

Run from anywhere:  python3 seeds/generate_contracts.py
Standard library only. Deterministic: one random.Random(2019), fixed reference dates,
every iteration over lists or sorted keys. The script ends with a self-check of the
output and exits non-zero if any constraint fails.
"""
import csv
import datetime as dt
import math
import os
import re
import sys
from collections import Counter
from decimal import Decimal
import random

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 2019

# Fixed dates: nothing depends on the day the script is run.
END_MIN = dt.date(2024, 12, 1)
END_MAX = dt.date(2032, 10, 31)
LATEST_START = dt.date(2026, 10, 31)  # no contract starts after the notional "today"

CONTRACT_COUNT_RANGE = (650, 800)
MIN_CONTRACTS_PER_BOROUGH = 12
MAX_END_SHARE = 0.35          # share of rows with an extension option (max_end_date)
RESELLER_SHARE_RANGE = (0.03, 0.08)
# Direction and strength of the link between a borough's number of distinct suppliers and
# its value-for-money ratings, per standard deviation of supplier count. Negative = boroughs
# with FEWER suppliers rate value for money LOWER, as the 2019 survey reported. The
# self-check requires the sign of the resulting correlation to match the sign of this
# constant (with seed 2019 and -0.2, r is about +0.5).
VFM_SUPPLIER_SLOPE = -0.2

HOSTING = ["on_premises", "supplier_hosted", "public_cloud", "saas", "hybrid", "unknown"]
ROUTES = ["open_tender", "framework", "direct_award", "joint_procurement", "unknown"]
DATA_ACCESS = ["included", "charged", "unavailable", "unknown"]

HEADER = [
    "source_reference", "borough_id", "supplier_id", "system_id", "service_area_ids", "title",
    "start_date", "end_date", "max_end_date", "annual_value_gbp", "total_value_gbp", "hosting",
    "procurement_route", "framework_name", "data_access", "source", "source_url",
    "satisfaction", "value_for_money", "support_confidence", "development_confidence", "notes",
]

# Approximate resident population in thousands (Census 2021, rounded); drives contract size.
POPULATION = {
    "city-of-london": 9, "barking-and-dagenham": 219, "barnet": 389, "bexley": 246,
    "brent": 339, "bromley": 330, "camden": 210, "croydon": 391, "ealing": 367,
    "enfield": 330, "greenwich": 289, "hackney": 259, "hammersmith-and-fulham": 183,
    "haringey": 264, "harrow": 261, "havering": 262, "hillingdon": 306, "hounslow": 288,
    "islington": 217, "kensington-and-chelsea": 143, "kingston-upon-thames": 168,
    "lambeth": 317, "lewisham": 300, "merton": 215, "newham": 351, "redbridge": 310,
    "richmond-upon-thames": 195, "southwark": 307, "sutton": 209, "tower-hamlets": 310,
    "waltham-forest": 278, "wandsworth": 328, "westminster": 205,
}
# The City's resident population understates its scale as an employer and service provider.
SIZE_OVERRIDE = {"city-of-london": 0.55}

# Probability that a borough holds a recorded contract for an area that an earlier
# contract has not already covered.
AREA_PROB = {
    "council-tax": 0.97, "business-rates": 0.6, "housing-benefit": 0.6,
    "adult-social-care": 0.95, "childrens-social-care": 0.95, "social-care-finance": 0.75,
    "public-health": 0.2,
    "education-management": 0.9, "send": 0.5,
    "housing-management": 0.85, "housing-repairs": 0.35, "homelessness-and-housing-options": 0.35,
    "planning": 0.97, "building-control": 0.4, "environmental-health": 0.55, "licensing": 0.45,
    "land-charges": 0.3,
    "waste-and-recycling": 0.75, "parking": 0.8, "highways-and-street-works": 0.85,
    "grounds-and-trees": 0.3, "fleet-management": 0.5,
    "libraries": 0.85, "registrars": 0.25, "electoral-registration": 0.7,
    "democratic-services": 0.9,
    "finance": 0.95, "payments-and-income": 0.85, "procurement": 0.45, "pensions": 0.45,
    "hr-and-payroll": 0.85, "property-asset-management": 0.12,
    "crm-and-customer-contact": 0.85, "web-and-digital-services": 0.7,
    "telephony-and-contact-centre": 0.8, "foi-and-complaints": 0.35,
    "document-and-records-management": 0.75, "gis": 0.8, "it-service-management": 0.7,
    "data-and-bi": 0.8, "productivity-and-collaboration": 0.97,
}
# Areas the City of London Corporation is much less likely to record (small or shared services).
CITY_AREA_DAMPING = {
    "adult-social-care": 0.6, "childrens-social-care": 0.6, "social-care-finance": 0.3,
    "education-management": 0.5, "send": 0.3, "housing-repairs": 0.4,
    "homelessness-and-housing-options": 0.4, "waste-and-recycling": 0.5, "pensions": 0.6,
}
# Probability of extending a contract to each further (not yet covered) area of its system,
# and of adding a later area to an existing contract whose system already covers it.
EXTEND_PROB = 0.85
ATTACH_PROB = 0.85

# Relative popularity of each system when a borough picks one for an area. Systems not
# listed get DEFAULT_WEIGHT. Weights are tuned so that the market is concentrated the way
# the local-government software market is: ~10 suppliers hold over half the contracts.
DEFAULT_WEIGHT = 0.4
# Weights are raised to this power when drawing: above 1 concentrates each area's market
# on its leading products.
WEIGHT_POWER = 1.3
SYSTEM_WEIGHT = {
    "civica-openrevenues": 7, "nec-revenues-benefits": 6, "capita-academy": 2.5,
    "liquidlogic-las": 7, "liquidlogic-lcs": 8, "liquidlogic-ehm": 0.6, "mosaic": 4.5,
    "olm-eclipse": 0.8, "olm-carefirst": 0.4, "civica-paris": 0.5, "imosphere-atlas": 0.3,
    "controcc": 8,
    "systmone": 2, "emis-web": 0.8,
    "capita-one": 7, "servelec-synergy": 2,
    "nec-housing": 5, "civica-cx": 4, "aareon-ql": 0.7,
    "totalmobile-fsm": 1.0, "kirona-drs": 0.8, "oneserve": 0.4,
    "locata": 1.5, "abritas": 1.0,
    "idox-uniform": 9, "idox-acolaid": 1.0, "arcus-built-environment": 1.2, "tascomi": 0.8,
    "nec-assure": 1.5, "civica-app": 2.5,
    "whitespace-work": 2, "bartec-collective": 1.0, "echo": 0.8, "causeway-alloy": 5,
    "causeway-mayrise": 1.0, "agile-applications": 0.1, "atak": 0.1,
    "taranto": 2.5, "mipermit": 0.6, "ringgo": 0.6, "paybyphone": 0.6,
    "confirm": 6, "symology-insight": 2.5, "causeway-horizons": 0.6,
    "civica-tranman": 3,
    "civica-spydus": 6, "sirsidynix-symphony": 1.5,
    "bookinglab": 1.0, "netcall-liberty-create": 3,
    "xpress-ems": 1.5, "idox-elections": 5, "democracy-counts": 0.5, "civica-election-services": 1.0,
    "moderngov": 5,
    "oracle-fusion": 7, "oracle-ebs": 1.5, "sap-s4hana": 0.8, "unit4-erp": 3,
    "civica-financials": 2, "capita-integra": 2, "microsoft-dynamics-365-finance": 0.6,
    "access-financials": 0.2,
    "civica-pay": 6, "adelante-payments": 0.6,
    "procontract": 2.5, "in-tend": 0.6, "atamis": 0.6,
    "civica-upm": 4, "altair": 1.5,
    "itrent": 10, "zellis-resourcelink": 1.2, "oracle-fusion-hcm": 2.5, "sap-successfactors": 0.4,
    "planon": 1,
    "microsoft-dynamics-365": 5, "salesforce-service-cloud": 2.0, "granicus-firmstep": 4,
    "jadu-cxm": 1.0, "verint-engagement-management": 0.8, "goss-icm": 0.8,
    "jadu-central": 1.2, "squiz-matrix": 0.3, "granicus-govdelivery": 1.5,
    "microsoft-teams-phone": 7, "netcall-liberty-converse": 2.5, "8x8-x-series": 0.8,
    "mitel-mivoice": 0.6, "gamma-horizon": 0.6, "avaya-aura": 0.5, "content-guru-storm": 0.6,
    "aptean-respond": 0.8,
    "microsoft-sharepoint": 8, "idox-dms": 2, "nec-information-at-work": 1.0,
    "objective-ecm": 0.3, "opentext-content-server": 0.3, "google-workspace": 0.3,
    "esri-arcgis": 8, "astun-ishare": 0.5, "cadcorp-sis": 0.3, "os-psga": 0.3,
    "servicenow-itsm": 6, "ivanti-service-manager": 0.8, "hornbill-service-manager": 0.8,
    "topdesk": 0.5,
    "power-bi": 10, "qlik-sense": 0.6, "tableau": 0.5, "xantura-oneview": 0.4,
    "experian-mosaic-public-sector": 0.3,
    "microsoft-365": 12,
}

# Systems that are cloud or SaaS by nature; the rest are line-of-business products that
# councils run on premises, have hosted by the supplier, or have moved to a public cloud.
CLOUD_NATIVE = [
    "agile-applications", "arcus-built-environment", "atamis", "bookinglab", "causeway-alloy",
    "content-guru-storm", "google-workspace", "granicus-firmstep", "granicus-govdelivery",
    "jadu-cxm", "microsoft-365", "microsoft-dynamics-365", "microsoft-dynamics-365-finance",
    "microsoft-sharepoint", "microsoft-teams-phone", "mipermit", "oracle-fusion",
    "oracle-fusion-hcm", "paybyphone", "power-bi", "procontract", "ringgo",
    "salesforce-service-cloud", "sap-successfactors", "servicenow-itsm", "tableau", "tascomi",
    "8x8-x-series", "gamma-horizon", "xantura-oneview", "os-psga",
]

# Contracts for these systems are sometimes held by a reseller or integrator rather than
# the vendor: (reseller supplier id, probability).
RESELLERS = {
    "microsoft-365": ("capita", 0.3), "microsoft-sharepoint": ("capita", 0.3),
    "power-bi": ("capita", 0.25), "microsoft-teams-phone": ("capita", 0.3),
    "microsoft-dynamics-365": ("capita", 0.3), "microsoft-dynamics-365-finance": ("capita", 0.4),
    "oracle-fusion": ("capita", 0.15), "oracle-fusion-hcm": ("capita", 0.3),
    "oracle-ebs": ("capita", 0.3), "sap-s4hana": ("capita", 0.4),
    "servicenow-itsm": ("capita", 0.2), "esri-arcgis": ("capita", 0.1),
    "salesforce-service-cloud": ("arcus-global", 0.35), "tableau": ("arcus-global", 0.3),
    "google-workspace": ("capita", 0.2),
}

# Borough/system pairings taken from public information. Contract details stay invented.
# 1) mySociety open311-adapter integration configs present at HEAD (file
#    ../shared/reference/council_backend_systems_from_mysociety_open311_adapter.csv):
#    the back-office system each London council's street, highways or waste reports go to.
# 2) Public council and supplier pages: Taranto at Haringey and Ealing, MiPermit at
#    Havering, the West London Locata lettings scheme, Hillingdon's housing management
#    system, Hackney's use of Google Workspace.
ANCHORS = [
    ("bexley", "whitespace-work", ["waste-and-recycling"]),
    ("bexley", "agile-applications", ["waste-and-recycling"]),
    ("bexley", "symology-insight", ["highways-and-street-works"]),
    ("bexley", "confirm", ["grounds-and-trees"]),
    ("bexley", "idox-uniform", ["planning", "building-control", "environmental-health", "licensing"]),
    ("brent", "echo", ["waste-and-recycling"]),
    ("brent", "symology-insight", ["highways-and-street-works"]),
    ("brent", "atak", ["grounds-and-trees"]),
    ("bromley", "echo", ["waste-and-recycling"]),
    ("camden", "symology-insight", ["highways-and-street-works"]),
    ("camden", "confirm", ["grounds-and-trees"]),
    ("enfield", "verint-engagement-management", ["crm-and-customer-contact"]),
    ("hackney", "causeway-alloy", ["highways-and-street-works", "waste-and-recycling"]),
    ("hounslow", "confirm", ["highways-and-street-works"]),
    ("kingston-upon-thames", "echo", ["waste-and-recycling"]),
    ("merton", "echo", ["waste-and-recycling"]),
    ("southwark", "confirm", ["highways-and-street-works"]),
    ("sutton", "echo", ["waste-and-recycling"]),
    ("haringey", "taranto", ["parking"]),
    ("ealing", "taranto", ["parking"]),
    ("havering", "mipermit", ["parking"]),
    ("brent", "locata", ["homelessness-and-housing-options"]),
    ("ealing", "locata", ["homelessness-and-housing-options"]),
    ("harrow", "locata", ["homelessness-and-housing-options"]),
    ("hillingdon", "locata", ["homelessness-and-housing-options"]),
    ("hounslow", "locata", ["homelessness-and-housing-options"]),
    ("hillingdon", "nec-housing", ["housing-management"]),
    ("hackney", "google-workspace", ["productivity-and-collaboration"]),
]

# Annual value range (GBP) of the primary area for a borough of average size; further
# areas on the same contract add half their own range.
AREA_VALUE = {
    "council-tax": (120_000, 380_000), "business-rates": (40_000, 120_000),
    "housing-benefit": (80_000, 250_000),
    "adult-social-care": (250_000, 700_000), "childrens-social-care": (250_000, 700_000),
    "social-care-finance": (60_000, 180_000), "public-health": (20_000, 90_000),
    "education-management": (90_000, 280_000), "send": (40_000, 140_000),
    "housing-management": (150_000, 500_000), "housing-repairs": (60_000, 220_000),
    "homelessness-and-housing-options": (25_000, 110_000),
    "planning": (70_000, 220_000), "building-control": (15_000, 50_000),
    "environmental-health": (25_000, 80_000), "licensing": (6_000, 25_000),
    "land-charges": (10_000, 35_000),
    "waste-and-recycling": (40_000, 160_000), "parking": (80_000, 450_000),
    "highways-and-street-works": (40_000, 150_000), "grounds-and-trees": (15_000, 60_000),
    "fleet-management": (12_000, 45_000),
    "libraries": (40_000, 140_000), "registrars": (6_000, 25_000),
    "electoral-registration": (20_000, 70_000), "democratic-services": (10_000, 30_000),
    "finance": (250_000, 900_000), "payments-and-income": (30_000, 110_000),
    "procurement": (20_000, 80_000), "pensions": (40_000, 150_000),
    "hr-and-payroll": (120_000, 400_000), "property-asset-management": (30_000, 110_000),
    "crm-and-customer-contact": (100_000, 400_000), "web-and-digital-services": (40_000, 160_000),
    "telephony-and-contact-centre": (80_000, 300_000), "foi-and-complaints": (10_000, 40_000),
    "document-and-records-management": (40_000, 180_000), "gis": (30_000, 120_000),
    "it-service-management": (40_000, 160_000), "data-and-bi": (30_000, 150_000),
    "productivity-and-collaboration": (300_000, 950_000),
}
# Payment apps are paid largely by motorists' convenience fees; keep their council cost low.
SYSTEM_VALUE_FACTOR = {"ringgo": 0.15, "paybyphone": 0.15, "mipermit": 0.3,
                       "agile-applications": 0.3, "atak": 0.2, "os-psga": 0.2,
                       "liquidlogic-ehm": 0.3, "imosphere-atlas": 0.2}

AREA_PHRASE = {
    "council-tax": "Revenues and benefits system", "business-rates": "Business rates system",
    "housing-benefit": "Benefits processing system",
    "adult-social-care": "Adult social care case management system",
    "childrens-social-care": "Children's social care case management system",
    "social-care-finance": "Social care finance and payments system",
    "public-health": "Public health clinical records system",
    "education-management": "Education management system", "send": "SEND case management system",
    "housing-management": "Housing management system",
    "housing-repairs": "Repairs scheduling and mobile working system",
    "homelessness-and-housing-options": "Housing register and choice-based lettings system",
    "planning": "Planning and regulatory services system", "building-control": "Building control system",
    "environmental-health": "Environmental health and regulatory services system",
    "licensing": "Licensing system", "land-charges": "Local land charges system",
    "waste-and-recycling": "Waste management and in-cab system",
    "parking": "Parking management system",
    "highways-and-street-works": "Highways asset and street works management system",
    "grounds-and-trees": "Grounds and tree management system",
    "fleet-management": "Fleet management system", "libraries": "Library management system",
    "registrars": "Registration service booking system",
    "electoral-registration": "Electoral management system",
    "democratic-services": "Committee management system", "finance": "Financial management system",
    "payments-and-income": "Income management and payments system",
    "procurement": "E-tendering and contract management system",
    "pensions": "Pensions administration system", "hr-and-payroll": "HR and payroll system",
    "property-asset-management": "Property and asset management system",
    "crm-and-customer-contact": "CRM and customer case management platform",
    "web-and-digital-services": "Website content management and digital forms platform",
    "telephony-and-contact-centre": "Telephony and contact centre service",
    "foi-and-complaints": "Complaints and FOI case management system",
    "document-and-records-management": "Electronic document and records management system",
    "gis": "GIS software and mapping services", "it-service-management": "IT service management tool",
    "data-and-bi": "Business intelligence and analytics platform",
    "productivity-and-collaboration": "Productivity and collaboration suite licences",
}
SYSTEM_PHRASE = {
    "ringgo": "Cashless parking payment service", "paybyphone": "Cashless parking payment service",
    "mipermit": "Virtual parking permits and cashless payment service",
    "os-psga": "Geospatial and address data licence",
    "agile-applications": "Garden waste subscription service",
    "atak": "Grounds maintenance works management system",
    "netcall-liberty-create": "Low-code case management and CRM platform",
    "granicus-firmstep": "Digital forms and customer account platform",
    "goss-icm": "Website and digital services platform",
    "google-workspace": "Productivity and collaboration suite licences",
}

ERP_SYSTEMS = ["unit4-erp", "oracle-fusion", "oracle-ebs", "sap-s4hana", "civica-financials",
               "capita-integra", "microsoft-dynamics-365-finance", "access-financials"]
ERP_PHRASE = {
    ("finance",): "Financial management system",
    ("procurement",): "Purchasing and procurement system",
    ("hr-and-payroll",): "HR and payroll system",
    ("finance", "procurement"): "Finance and procurement system",
    ("finance", "hr-and-payroll"): "Finance, HR and payroll system",
    ("procurement", "hr-and-payroll"): "Procurement, HR and payroll system",
    ("finance", "procurement", "hr-and-payroll"): "Enterprise resource planning (finance, procurement and HR) system",
}

NOTES_GOOD = [
    "Reliable system with responsive supplier support.",
    "Works well and the supplier engages with our roadmap.",
    "Integrates well with our other core systems.",
    "Recent upgrade went smoothly with little disruption.",
    "Staff find it straightforward once trained.",
    "Good value for the functionality we use.",
]
NOTES_MID = [
    "Meets core needs but reporting relies on workarounds.",
    "Adequate, though each upgrade needs significant testing.",
    "Does the job; costs rose noticeably at renewal.",
    "Integration with the CRM still depends on manual exports.",
    "Functionality is fine but the interface is dated.",
    "Supplier support is variable depending on the issue.",
]
NOTES_POOR = [
    "Legacy product with little development from the supplier.",
    "Support response times are slow for priority issues.",
    "Planning a replacement at the end of this contract.",
    "Frequent outages have affected front-line staff.",
    "Difficult to configure without paid supplier days.",
]
NOTES_POOR_CLOUD = [
    "Subscription costs rose sharply at renewal.",
    "Adoption across services has been slower than planned.",
    "Support response times are slow for priority issues.",
    "Configuration changes depend on paid partner days.",
]
NOTES_CHARGED = [
    "Bulk data extracts are charged as extra work.",
    "Getting our own data out requires paid supplier consultancy.",
]

G_CLOUD_BY_YEAR = [(2017, "G-Cloud 9"), (2018, "G-Cloud 10"), (2019, "G-Cloud 11"),
                   (2020, "G-Cloud 12"), (2022, "G-Cloud 13"), (2024, "G-Cloud 14")]
DAS = "CCS RM3821 Data and Application Solutions"
VAS = "CCS RM6259 Vertical Application Solutions"
BOS = "CCS RM6194 Back Office Software"
TEPAS = "CCS RM6068 Technology Products and Associated Services"
TEPAS2 = "CCS RM6098 Technology Products and Associated Services 2"
NS3 = "CCS RM6116 Network Services 3"
LICENCE_SYSTEMS = ["microsoft-365", "microsoft-sharepoint", "power-bi", "microsoft-teams-phone",
                   "google-workspace", "microsoft-dynamics-365", "microsoft-dynamics-365-finance"]
BACK_OFFICE_AREAS = ["finance", "procurement", "hr-and-payroll", "pensions", "payments-and-income"]


# ------------------------------------------------------------------ helpers
def read_csv(name):
    with open(os.path.join(HERE, name), encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def add_years(d, n):
    try:
        return d.replace(year=d.year + n)
    except ValueError:  # 29 February
        return d.replace(year=d.year + n, day=28)


def pence_str(p):
    return f"{p // 100}.{p % 100:02d}"


def clamp_rating(x):
    return max(1, min(5, int(math.floor(x + 0.5))))


def weighted(rng, items, weights):
    return rng.choices(items, weights=weights, k=1)[0]


def g_cloud(year):
    name = G_CLOUD_BY_YEAR[0][1]
    for y, n in G_CLOUD_BY_YEAR:
        if year >= y:
            name = n
    return name


def framework_for(rng, system_id, areas, start):
    y = start.year
    options = [g_cloud(y)]
    if system_id in LICENCE_SYSTEMS:
        options += [TEPAS2 if y >= 2021 else TEPAS] * 2
    elif "telephony-and-contact-centre" in areas:
        if y >= 2022:
            options.append(NS3)
    elif any(a in BACK_OFFICE_AREAS for a in areas):
        if y >= 2021:
            options.append(BOS)
    else:
        if y >= 2022:
            options.append(VAS)
        elif y >= 2019:
            options.append(DAS)
    return rng.choice(options)


def pearson(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy) if sxx and syy else 0.0


# --------------------------------------------------------------- generation
def generate():
    rng = random.Random(SEED)
    boroughs = read_csv("boroughs.csv")
    sa = read_csv("service_areas.csv")
    suppliers = read_csv("suppliers.csv")
    systems = read_csv("systems.csv")

    areas = [r["id"] for r in sa if r["parent_id"]]
    area_index = {a: i for i, a in enumerate(areas)}
    sys_by_id = {s["id"]: s for s in systems}
    sys_areas = {s["id"]: s["service_area_ids"].split("|") for s in systems}
    candidates = {a: [s["id"] for s in systems if a in sys_areas[s["id"]]] for a in areas}

    # Per-system quality drives satisfaction; drawn once, in file order.
    quality = {s["id"]: 2.7 + 1.3 * rng.random() for s in systems}

    raw = []  # contracts before ratings and numbering
    for b in boroughs:
        bid = b["id"]
        covered = {}
        planned = []  # (system_id, [areas])
        for abid, sid, a_list in ANCHORS:
            if abid == bid:
                planned.append((sid, list(a_list)))
                for a in a_list:
                    covered.setdefault(a, sid)
        for a in areas:
            if a in covered:
                continue
            p = AREA_PROB[a] * (CITY_AREA_DAMPING.get(a, 1.0) if bid == "city-of-london" else 1.0)
            if rng.random() >= p:
                continue
            # Prefer a system the borough already has for this area: add the area to
            # that contract instead of bringing in a second product.
            existing = [i for i, (psid, _) in enumerate(planned) if a in sys_areas[psid]]
            if existing and rng.random() < ATTACH_PROB:
                psid, p_areas = planned[existing[0]]
                p_areas.append(a)  # the first area stays the one the product was chosen for
                covered[a] = psid
                continue
            cands = candidates[a]
            sid = weighted(rng, cands, [SYSTEM_WEIGHT.get(c, DEFAULT_WEIGHT) ** WEIGHT_POWER
                                        for c in cands])
            chosen = [a]
            for other in sys_areas[sid]:
                if other != a and other not in covered and rng.random() < EXTEND_PROB:
                    chosen.append(other)
            chosen[1:] = sorted(chosen[1:], key=lambda x: area_index[x])
            for x in chosen:
                covered[x] = sid
            planned.append((sid, chosen))
        for sid, chosen in planned:
            raw.append(make_contract(rng, b, sys_by_id[sid], chosen))

    # Ratings for surveyed boroughs: value for money weakly tied to supplier count.
    surveyed = [b["id"] for b in boroughs if b["surveyed"] == "true"]
    nsup = {bid: len({c["supplier_id"] for c in raw if c["borough_id"] == bid}) for bid in surveyed}
    mean = sum(nsup.values()) / len(nsup)
    sd = math.sqrt(sum((v - mean) ** 2 for v in nsup.values()) / len(nsup)) or 1.0
    for c in raw:
        if c["borough_id"] not in nsup:
            for k in ("satisfaction", "value_for_money", "support_confidence",
                      "development_confidence", "notes"):
                c[k] = ""
            continue
        z = (nsup[c["borough_id"]] - mean) / sd
        sat = clamp_rating(quality[c["system_id"]] + rng.gauss(0, 0.8))
        vfm = clamp_rating(sat - 0.2 + rng.gauss(0, 0.8) - VFM_SUPPLIER_SLOPE * z)
        sup = clamp_rating(3.2 + rng.gauss(0, 1.0))
        dev = clamp_rating(sup - 0.5 + rng.gauss(0, 0.9))
        if c["data_access"] == "charged" and rng.random() < 0.4:
            note = rng.choice(NOTES_CHARGED)
        elif sat >= 4:
            note = rng.choice(NOTES_GOOD)
        elif sat == 3:
            note = rng.choice(NOTES_MID)
        elif c["system_id"] in CLOUD_NATIVE:
            note = rng.choice(NOTES_POOR_CLOUD)
        else:
            note = rng.choice(NOTES_POOR)
        c.update(satisfaction=str(sat), value_for_money=str(vfm), support_confidence=str(sup),
                 development_confidence=str(dev), notes=note)

    border = {b["id"]: i for i, b in enumerate(boroughs)}
    raw.sort(key=lambda c: (border[c["borough_id"]],
                            area_index[c["service_area_ids"].split("|")[0]],
                            c["system_id"], c["supplier_id"]))
    for i, c in enumerate(raw, start=1):
        c["source_reference"] = f"ILL-{i:04d}"
    return raw


def make_contract(rng, borough, system, chosen):
    bid, sid = borough["id"], system["id"]
    supplier = system["supplier_id"]
    if sid in RESELLERS and rng.random() < RESELLERS[sid][1]:
        supplier = RESELLERS[sid][0]

    # Dates: end date uniform over the window; length 2-7 years; no start after LATEST_START.
    end = END_MIN + dt.timedelta(days=rng.randint(0, (END_MAX - END_MIN).days))
    if end.month == 2 and end.day == 29:
        end = end.replace(day=28)
    min_years = max(2, math.ceil((end - LATEST_START).days / 365.25))
    lengths = [y for y in (2, 3, 4, 5, 6, 7) if y >= min_years]
    base_w = {2: 8, 3: 20, 4: 18, 5: 28, 6: 12, 7: 10}
    years = weighted(rng, lengths, [base_w[y] for y in lengths])
    start = add_years(end, -years)
    max_end = add_years(end, rng.choice([1, 2])) if rng.random() < MAX_END_SHARE else None

    # Value: area ranges x borough size x system factor, in whole pence.
    size = SIZE_OVERRIDE.get(bid, (POPULATION[bid] / 270.0) ** 0.6)
    base = 0.0
    for i, a in enumerate(chosen):
        lo, hi = AREA_VALUE[a]
        base += rng.uniform(lo, hi) * (1.0 if i == 0 else 0.5)
    annual_p = int(round(base * size * SYSTEM_VALUE_FACTOR.get(sid, 1.0) * 100))
    if rng.random() < 0.5:
        annual_p = int(round(annual_p / 1000.0)) * 1000  # whole tens of pounds
    annual_p = max(annual_p, 100_000)  # at least 1,000 pounds a year
    total_p = annual_p * years

    # Hosting, route, framework, data access.
    if sid in CLOUD_NATIVE:
        hosting = weighted(rng, HOSTING, [0, 8, 15, 70, 0, 7])
    else:
        hosting = weighted(rng, HOSTING, [35, 25, 15, 5, 12, 8])
    route = weighted(rng, ROUTES, [28, 40, 18, 7, 7])
    framework = framework_for(rng, sid, chosen, start) if route == "framework" else ""
    if hosting in ("saas", "public_cloud"):
        access = weighted(rng, DATA_ACCESS, [55, 15, 8, 22])
    else:
        access = weighted(rng, DATA_ACCESS, [38, 30, 12, 20])

    phrase = SYSTEM_PHRASE.get(sid) or AREA_PHRASE[chosen[0]]
    erp = [a for a in ("finance", "procurement", "hr-and-payroll") if a in chosen]
    if len(erp) >= 2 or (sid in ERP_SYSTEMS and erp):
        phrase = ERP_PHRASE[tuple(erp)]
    sname = system["name"]
    if supplier != system["supplier_id"]:
        title = rng.choice([f"Supply and support of {sname} licences",
                            f"{sname} licences and implementation partner services",
                            f"{phrase} ({sname}) through licensing partner"])
    else:
        lowered = phrase if phrase[:2].isupper() else phrase[0].lower() + phrase[1:]
        patterns = [f"{phrase} licence, support and maintenance", f"{phrase} ({sname})",
                    f"Provision of {lowered}"]
        if hosting in ("saas", "public_cloud"):
            patterns.append(f"{sname} subscription")
        elif hosting == "supplier_hosted":
            patterns.append(f"{phrase}: hosting, support and maintenance")
        else:
            patterns.append(f"{sname} support and maintenance")
        title = rng.choice(patterns)

    return {
        "source_reference": "", "borough_id": bid, "supplier_id": supplier, "system_id": sid,
        "service_area_ids": "|".join(chosen), "title": title,
        "start_date": start.isoformat(), "end_date": end.isoformat(),
        "max_end_date": max_end.isoformat() if max_end else "",
        "annual_value_gbp": pence_str(annual_p), "total_value_gbp": pence_str(total_p),
        "hosting": hosting, "procurement_route": route, "framework_name": framework,
        "data_access": access, "source": "illustrative", "source_url": "",
    }


def write(rows, path):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(HEADER)
        for c in rows:
            w.writerow([c[h] for h in HEADER])


# --------------------------------------------------------------- self-check
def self_check(path):
    errors = []

    def err(msg):
        errors.append(msg)

    boroughs = read_csv("boroughs.csv")
    sa = read_csv("service_areas.csv")
    suppliers = read_csv("suppliers.csv")
    systems = read_csv("systems.csv")
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [dict(zip(header, r)) for r in reader]
    with open(path, "rb") as f:
        raw_bytes = f.read()
    if b"\r" in raw_bytes:
        err("contracts.csv must use LF line endings")
    if header != HEADER:
        err(f"header mismatch: {header}")

    b_ids = [b["id"] for b in boroughs]
    surveyed = {b["id"] for b in boroughs if b["surveyed"] == "true"}
    group_ids = [r["id"] for r in sa if not r["parent_id"]]
    parent = {r["id"]: r["parent_id"] for r in sa if r["parent_id"]}
    sup_ids = {s["id"] for s in suppliers}
    sys_by_id = {s["id"]: s for s in systems}
    date_re = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    money_re = re.compile(r"^\d+\.\d{2}$")
    slug_re = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

    n = len(rows)
    if not CONTRACT_COUNT_RANGE[0] <= n <= CONTRACT_COUNT_RANGE[1]:
        err(f"contract count {n} outside {CONTRACT_COUNT_RANGE}")
    refs = [r["source_reference"] for r in rows]
    if refs != [f"ILL-{i:04d}" for i in range(1, n + 1)]:
        err("source_reference must run ILL-0001.. in file order without gaps")

    per_borough = Counter()
    pair_count = Counter()
    groups_seen = set()
    resold = 0
    with_max = 0
    used = {"hosting": Counter(), "procurement_route": Counter(), "data_access": Counter()}
    supplier_count = Counter()
    for r in rows:
        ref = r["source_reference"]
        if r["source"] != "illustrative":
            err(f"{ref}: source must be illustrative")
        if r["source_url"]:
            err(f"{ref}: source_url must be empty")
        if r["borough_id"] not in b_ids:
            err(f"{ref}: unknown borough {r['borough_id']}")
        if r["supplier_id"] not in sup_ids:
            err(f"{ref}: unknown supplier {r['supplier_id']}")
        s = sys_by_id.get(r["system_id"])
        if s is None:
            err(f"{ref}: unknown system {r['system_id']}")
            continue
        if not r["title"].strip():
            err(f"{ref}: empty title")
        if r["supplier_id"] != s["supplier_id"]:
            resold += 1
            if RESELLERS.get(r["system_id"], (None,))[0] != r["supplier_id"]:
                err(f"{ref}: supplier {r['supplier_id']} is neither vendor nor known reseller")
        s_areas = s["service_area_ids"].split("|")
        c_areas = r["service_area_ids"].split("|") if r["service_area_ids"] else []
        if not c_areas:
            err(f"{ref}: no service areas")
        if len(set(c_areas)) != len(c_areas):
            err(f"{ref}: duplicate service areas")
        for a in c_areas:
            if a not in parent:
                err(f"{ref}: {a} is not a service area (leaf) id")
            elif a not in s_areas:
                err(f"{ref}: {a} is not an area of system {s['id']}")
            else:
                groups_seen.add(parent[a])
                pair_count[(r["borough_id"], a)] += 1
        for k in ("borough_id", "supplier_id", "system_id"):
            if not slug_re.match(r[k]):
                err(f"{ref}: {k} is not a slug")

        # Dates.
        for k in ("start_date", "end_date"):
            if not date_re.match(r[k]):
                err(f"{ref}: {k} must be YYYY-MM-DD")
        try:
            start = dt.date.fromisoformat(r["start_date"])
            end = dt.date.fromisoformat(r["end_date"])
        except ValueError:
            err(f"{ref}: invalid date")
            continue
        if end < start:
            err(f"{ref}: end_date before start_date")
        if not END_MIN <= end <= END_MAX:
            err(f"{ref}: end_date {end} outside {END_MIN}..{END_MAX}")
        years = end.year - start.year
        if (start.month, start.day) != (end.month, end.day) or not 2 <= years <= 7:
            err(f"{ref}: start_date must be a whole 2-7 years before end_date")
        if start > LATEST_START:
            err(f"{ref}: start_date after {LATEST_START}")
        if r["max_end_date"]:
            with_max += 1
            try:
                mx = dt.date.fromisoformat(r["max_end_date"])
            except ValueError:
                err(f"{ref}: invalid max_end_date")
                mx = end
            if mx < end:
                err(f"{ref}: max_end_date before end_date")
            if mx not in (add_years(end, 1), add_years(end, 2)):
                err(f"{ref}: max_end_date must be 1 or 2 years after end_date")

        # Money.
        for k in ("annual_value_gbp", "total_value_gbp"):
            if not money_re.match(r[k]):
                err(f"{ref}: {k} must be a non-negative amount with 2 decimals")
        if money_re.match(r["annual_value_gbp"]) and money_re.match(r["total_value_gbp"]):
            if Decimal(r["annual_value_gbp"]) * years != Decimal(r["total_value_gbp"]):
                err(f"{ref}: total_value_gbp != annual x {years} years")

        # Enumerations.
        if r["hosting"] not in HOSTING:
            err(f"{ref}: bad hosting")
        if r["procurement_route"] not in ROUTES:
            err(f"{ref}: bad procurement_route")
        if r["data_access"] not in DATA_ACCESS:
            err(f"{ref}: bad data_access")
        for k in used:
            used[k][r[k]] += 1
        if (r["procurement_route"] == "framework") != bool(r["framework_name"]):
            err(f"{ref}: framework_name must be set exactly when route is framework")

        # Assessments.
        rating_keys = ("satisfaction", "value_for_money", "support_confidence",
                       "development_confidence")
        if r["borough_id"] in surveyed:
            for k in rating_keys:
                if r[k] not in ("1", "2", "3", "4", "5"):
                    err(f"{ref}: {k} must be an integer 1-5 for a surveyed borough")
            if not r["notes"].strip():
                err(f"{ref}: notes required for a surveyed borough")
        else:
            for k in rating_keys + ("notes",):
                if r[k]:
                    err(f"{ref}: {k} must be empty for a borough that was not surveyed")
        per_borough[r["borough_id"]] += 1
        supplier_count[r["supplier_id"]] += 1

    for b in b_ids:
        if per_borough[b] < MIN_CONTRACTS_PER_BOROUGH:
            err(f"{b}: only {per_borough[b]} contracts (< {MIN_CONTRACTS_PER_BOROUGH})")
    for g in group_ids:
        if g not in groups_seen:
            err(f"service-area group {g} has no contract")
    for k, enum in (("hosting", HOSTING), ("procurement_route", ROUTES), ("data_access", DATA_ACCESS)):
        for v in enum:
            if not used[k][v]:
                err(f"{k} value {v} never used")
    for abid, sid, a_list in ANCHORS:
        if not any(r["borough_id"] == abid and r["system_id"] == sid
                   and set(a_list) <= set(r["service_area_ids"].split("|")) for r in rows):
            err(f"anchored pairing {abid}/{sid} missing")

    dup_pairs = sum(1 for v in pair_count.values() if v > 1)
    if pair_count and dup_pairs / len(pair_count) > 0.03:
        err(f"{dup_pairs} borough/area pairs have more than one system (> 3%)")
    share_max = with_max / n if n else 0
    if not 0.28 <= share_max <= 0.42:
        err(f"max_end_date present on {share_max:.1%} of rows (want ~35%)")
    share_resold = resold / n if n else 0
    if not RESELLER_SHARE_RANGE[0] <= share_resold <= RESELLER_SHARE_RANGE[1]:
        err(f"reseller rows {share_resold:.1%} outside {RESELLER_SHARE_RANGE}")

    ranked = supplier_count.most_common()
    top10 = sum(c for _, c in ranked[:10]) / n if n else 0
    top15 = sum(c for _, c in ranked[:15]) / n if n else 0
    if top10 <= 0.5:
        err(f"top 10 suppliers hold {top10:.1%} of contracts (want > 50%)")
    if not 0.78 <= top15 <= 0.92:
        err(f"top 15 suppliers hold {top15:.1%} of contracts (want 80-90%)")

    # Value for money against supplier count (surveyed boroughs).
    xs, ys = [], []
    for b in sorted(surveyed):
        brs = [r for r in rows if r["borough_id"] == b]
        xs.append(len({r["supplier_id"] for r in brs}))
        ys.append(sum(int(r["value_for_money"]) for r in brs) / len(brs))
    r_vfm = pearson(xs, ys)
    if VFM_SUPPLIER_SLOPE > 0 and not r_vfm < 0:
        err(f"value_for_money should fall as supplier count rises (r = {r_vfm:.2f})")
    if VFM_SUPPLIER_SLOPE < 0 and not r_vfm > 0:
        err(f"value_for_money should rise with supplier count (r = {r_vfm:.2f})")

    # Report.
    years_hist = Counter(r["end_date"][:4] for r in rows)
    print(f"contracts: {n}")
    print(f"boroughs: {len(per_borough)} (min {min(per_borough.values())}, "
          f"max {max(per_borough.values())} contracts each)")
    print(f"suppliers with contracts: {len(supplier_count)} of {len(sup_ids)}; "
          f"systems used: {len({r['system_id'] for r in rows})} of {len(sys_by_id)}")
    print(f"top 10 suppliers: {top10:.1%} of contracts; top 15: {top15:.1%}")
    print("  " + ", ".join(f"{s}={c}" for s, c in ranked[:15]))
    print(f"reseller-held rows: {resold} ({share_resold:.1%}); max_end_date present: "
          f"{with_max} ({share_max:.1%})")
    print(f"borough/area pairs with more than one system: {dup_pairs} of {len(pair_count)}")
    print("end_date by year: " + ", ".join(f"{y}={years_hist[y]}" for y in sorted(years_hist)))
    for k in used:
        print(f"{k}: " + ", ".join(f"{v}={used[k][v]}" for v in
                                   (HOSTING if k == "hosting" else ROUTES if k == "procurement_route" else DATA_ACCESS)))
    print(f"surveyed boroughs: {len(surveyed)}; r(suppliers, mean value_for_money) = {r_vfm:.2f}")
    if errors:
        print(f"SELF-CHECK FAILED: {len(errors)} problem(s)", file=sys.stderr)
        for e in errors[:50]:
            print("  " + e, file=sys.stderr)
        return False
    print("self-check passed")
    return True


def main():
    out = os.path.join(HERE, "contracts.csv")
    rows = generate()
    write(rows, out)
    sys.exit(0 if self_check(out) else 1)


if __name__ == "__main__":
    main()
