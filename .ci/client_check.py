"""A client generated from the OpenAPI document, used as a Python caller would use it.

Usage: python client_check.py BASE_URL   (with the generated `citytools_client` importable)

Runs a two-value filter search (borough=camden and hackney) through the generated client and
checks that it parses, that every contract is in one of the two boroughs, and that it finds the
same contracts, in the same order, as the API asked directly with the comma form.
"""
import json
import sys
import urllib.request

from citytools_client import Client
from citytools_client.api.contracts import list_contracts

base = sys.argv[1]
client = Client(base_url=base, raise_on_unexpected_status=True)
response = list_contracts.sync_detailed(client=client, borough=["camden", "hackney"], per_page=500)
assert response.status_code == 200, response.content[:500]
page = response.parsed
boroughs = {item.borough_id for item in page.items}
assert boroughs == {"camden", "hackney"}, boroughs
with urllib.request.urlopen(f"{base}/api/v1/contracts?borough=camden,hackney&per_page=500") as answer:
    direct = json.load(answer)
assert [item.id for item in page.items] == [row["id"] for row in direct["items"]]
assert page.meta.total == direct["meta"]["total"], (page.meta.total, direct["meta"]["total"])
print(f"generated client: borough=camden,hackney found {page.meta.total} contracts, as the API does")
