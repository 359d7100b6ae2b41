#!/usr/bin/env python3
"""Writes a synthetic council contract register (CSV) for the import benchmark.

    python3 bench/import/generate_register.py ROWS [SEED] > register.csv

Deterministic for a given ROWS and SEED. Every row is a technology contract (an IT CPV code or a
software supplier), so every row becomes a contract: the benchmark measures the import, not the
filter. The headers, dates and money vary the way published registers do: several date and money
formats, blanks, a few thousand suppliers of which some match the catalogue through their aliases.
"""

import csv
import random
import sys

CATALOGUE_SUPPLIERS = [
    "Civica UK Ltd", "Capita Business Services Ltd", "NEC Software Solutions UK Limited",
    "Idox Software Ltd", "Liquidlogic Limited", "Servelec Group", "Brightly Software",
    "Causeway Technologies", "Bartec Municipal Technologies Ltd", "Taranto Systems Limited",
    "Aareon UK", "Totalmobile", "Unit4", "Oracle", "SAP", "The Access Group", "MHR", "Zellis",
    "Microsoft Limited", "Esri UK Limited", "Astun Technology Ltd", "Granicus", "Jadu",
    "Netcall", "Verint", "ServiceNow", "Hornbill", "TOPdesk", "Qlik", "Mitel", "Gamma Communications",
]
FIRST = ["North", "South", "East", "West", "Thames", "Metro", "Civic", "Borough", "Capital", "Union",
         "Bridge", "River", "Harbour", "Crown", "Oak", "Cedar", "Granite", "Silver", "Blue", "Green"]
SECOND = ["Data", "Digital", "Cloud", "Systems", "Software", "Networks", "Analytics", "Logic",
          "Tech", "Computing", "Telecom", "Cyber", "Platform", "Solutions", "Information"]
SUFFIX = ["Ltd", "Limited", "LLP", "PLC", "UK Ltd", "Group Ltd", ""]
TITLES = [
    "Council tax and business rates system support", "Housing management system licence",
    "Adult social care case management", "Children's services case management hosting",
    "Parking permits and PCN processing", "Waste round planning and in-cab software",
    "Library management system", "Electoral registration software", "Payroll and HR system",
    "Finance system (ERP) support", "Corporate website hosting and support", "CRM platform licences",
    "Contact centre telephony", "Document management (EDRMS)", "GIS and address management",
    "IT service desk tooling", "Business intelligence and dashboards", "Microsoft 365 licences",
    "Network security monitoring", "Laptop refresh", "Planning applications system",
    "Building control software", "Public health records system", "Income management system",
]
CPV = ["48000000-8", "72000000-5", "48100000-9", "72250000-2", "48300000-1", "30213100-6",
       "72400000-4", "48610000-7", ""]
ROUTES = ["Open tender", "Call-off from framework", "Direct award", "Further competition", "", "Restricted"]
DEPARTMENTS = ["ICT", "Digital & Technology", "Resources", "Adults Services", "Children's Services",
               "Environment", "Housing", "Finance"]


def day(rng, year_from, year_to):
    return rng.randint(year_from, year_to), rng.randint(1, 12), rng.randint(1, 28)


def date_text(rng, ymd):
    y, m, d = ymd
    month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][m - 1]
    return rng.choice([
        f"{d:02d}/{m:02d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{d:02d}-{month}-{y % 100:02d}",
        f"{d} {month} {y}",
    ])


def money_text(rng, pence):
    pounds = pence / 100
    return rng.choice([f"£{pounds:,.2f}", f"{pence // 100}", f"{pounds:.2f}", f"£{pence // 100:,}", ""])


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 2019)
    generated = sorted({f"{rng.choice(FIRST)} {rng.choice(SECOND)} {rng.choice(SECOND)}" for _ in range(4000)})
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["Contract Reference", "Title of Agreement", "Department", "Supplier Name",
                  "Commencement Date", "Expiry Date", "Expiry Date Including Extensions",
                  "Annual Value", "Total Contract Value (£)", "Procurement Route", "CPV Code", "SME Status"])
    for n in range(1, rows + 1):
        if rng.random() < 0.3:
            supplier = rng.choice(CATALOGUE_SUPPLIERS)
            cpv = rng.choice(CPV)
        else:
            supplier = f"{rng.choice(generated)} {rng.choice(SUFFIX)}".strip()
            cpv = rng.choice(CPV[:-1])
        start = day(rng, 2015, 2025)
        end = (start[0] + rng.randint(1, 7), start[1], start[2])
        max_end = (end[0] + rng.randint(0, 3), end[1], end[2])
        annual = rng.randint(1_000_00, 2_000_000_00)
        out.writerow([
            f"BENCH-{n:06d}",
            rng.choice(TITLES),
            rng.choice(DEPARTMENTS),
            supplier,
            date_text(rng, start),
            date_text(rng, end),
            date_text(rng, max_end) if rng.random() < 0.6 else "",
            money_text(rng, annual),
            money_text(rng, annual * (end[0] - start[0])),
            rng.choice(ROUTES),
            cpv,
            rng.choice(["Yes", "No", "SME", "Non-SME", ""]),
        ])


if __name__ == "__main__":
    main()
