"""Routing: which destination gets which breach (docs/publishing.md, "Routing").

A destination is a channel with a name: the four built-in ones (`slack`, `teams`, `webhook`,
`email`, configured under `channels:`) and every entry of `destinations:` (several Slack or Teams
webhooks, generic webhooks, e-mail lists, the owners' own e-mail). A breach goes to every
destination of every route whose `match` it satisfies (all keys given must match; a list matches
any of its values); a breach no route matches goes to `default_route` (unset: every configured
destination). Each destination receives one digest per run holding only what was routed to it.

A route's facts come from the breach (kpi, owner, severity, rule) and from the registry: the
key results the breach affects name their objectives, the objectives their teams
(`okr_key_results`, `okr_objectives` in the warehouse). An e-mail destination with
`to_owners: true` becomes one destination per owner, `<name>/<owner address>`, holding that
owner's breaches (owners that are not e-mail addresses are skipped, with a warning).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from okr_kpi.config import Config
from okr_kpi.logging import log_event, register_secret
from okr_kpi.publish.channels import Channel, EmailChannel, SlackChannel, TeamsChannel, WebhookChannel
from okr_kpi.warehouse import Warehouse

BUILT_IN = ("slack", "teams", "webhook", "email")


@dataclass
class Destination:
    name: str
    kind: str  # slack | teams | webhook | email
    options: dict[str, Any] = field(default_factory=dict)
    to_owners: bool = False

    def channel(self, owner: str | None = None) -> Channel | None:
        """The channel object (None when its URL is not set in the environment)."""
        if self.kind in ("slack", "teams", "webhook"):
            url = os.environ.get(self.options.get("url_env") or "", "").strip()
            if not url:
                return None
            register_url(url)  # whatever its variable is called, never in a log or report
            if self.kind == "slack":
                channel: Channel = SlackChannel(url)
            elif self.kind == "teams":
                channel = TeamsChannel(url)
            else:
                channel = WebhookChannel(url, self.options.get("headers"))
        else:
            options = dict(self.options)
            options["to"] = [owner] if owner else list(options.get("to") or [])
            if not options["to"]:
                return None
            channel = EmailChannel(options)
        channel.name = f"{self.name}/{owner}" if owner else self.name
        return channel


def register_url(url: str) -> None:
    """A webhook URL and its path (the secret part) are redacted from now on."""
    from urllib.parse import urlsplit

    register_secret(url)
    parts = urlsplit(url)
    tail = parts.path + (("?" + parts.query) if parts.query else "")
    if len(tail) >= 8:
        register_secret(tail)


def destinations(config: Config) -> dict[str, Destination]:
    """Every destination switched on, by name (built-in first, then `destinations:`)."""
    out: dict[str, Destination] = {}
    ch = config.section("channels")
    for kind in ("slack", "teams", "webhook"):
        if ch[kind].get("enabled", True):
            out[kind] = Destination(kind, kind, dict(ch[kind]))
    if ch["email"].get("enabled") and ch["email"].get("to"):
        out["email"] = Destination("email", "email", dict(ch["email"]))
    for name, d in (config.section("destinations") or {}).items():
        if not d.get("enabled", True):
            continue
        options = dict(d)
        if d["type"] == "email":  # the SMTP server of channels.email, this destination's list
            options = {**ch["email"], "to": list(d.get("to") or [])}
        out[name] = Destination(name, d["type"], options, to_owners=bool(d.get("to_owners")))
    return out


def configured_channels(config: Config) -> list[Channel]:
    """The channel of every destination whose URL (or list) is set; owner e-mail destinations
    are expanded per run by `Router.split`."""
    found = []
    for d in destinations(config).values():
        if d.to_owners and not d.options.get("to"):
            continue
        c = d.channel()
        if c is not None:
            found.append(c)
    return found


def channel_for(config: Config, name: str) -> Channel | None:
    """The channel an outbox row's `channel` names (`dest` or `dest/owner@address`)."""
    base, _, owner = name.partition("/")
    d = destinations(config).get(base)
    if d is None:
        return None
    return d.channel(owner or None)


def registry_context(wh: Warehouse, schema: str) -> dict[str, dict[str, Any]] | None:
    """key_result_id -> {title, objective_id, team, cycle_id, cycle_start, cycle_end} from the
    seeds in the warehouse; None without okr_key_results."""
    out: dict[str, dict[str, Any]] = {}
    if not wh.table_exists(schema, "okr_key_results"):
        return None
    cycles: dict[str, dict[str, Any]] = {}
    if wh.table_exists(schema, "okr_cycles"):
        for row in wh.query(f"select * from {wh.ident(schema, 'okr_cycles')}"):
            cycles[str(row.get("cycle_id"))] = row
    objectives: dict[str, dict[str, Any]] = {}
    if wh.table_exists(schema, "okr_objectives"):
        for row in wh.query(f"select * from {wh.ident(schema, 'okr_objectives')}"):
            objectives[str(row.get("objective_id"))] = row
    for row in wh.query(f"select * from {wh.ident(schema, 'okr_key_results')}"):
        objective = objectives.get(str(row.get("objective_id")), {})
        out[str(row["key_result_id"])] = {
            "title": row.get("title") or row["key_result_id"],
            "objective_id": row.get("objective_id"),
            "team": objective.get("team"),
            "cycle_id": objective.get("cycle_id"),
            "cycle_start": cycles.get(str(objective.get("cycle_id")), {}).get("start_date"),
            "cycle_end": cycles.get(str(objective.get("cycle_id")), {}).get("end_date"),
        }
    return out


class Router:
    """Decides, per alerted event, its destinations (see the module's docstring)."""

    def __init__(self, config: Config, context: dict[str, dict[str, Any]] | None = None) -> None:
        self.config = config
        self.dests = destinations(config)
        self.routes = config.section("routes") or []
        self.default = config.section("default_route")
        self.context = context or {}
        self._warned: set[str] = set()

    def facts(self, event: dict[str, Any]) -> dict[str, set[str]]:
        krs = event.get("affected_key_results") or ""
        if isinstance(krs, str):
            krs = [k for k in krs.split(",") if k]
        objectives = {
            str(self.context[k]["objective_id"])
            for k in krs
            if k in self.context and self.context[k]["objective_id"]
        }
        teams = {str(self.context[k]["team"]) for k in krs if k in self.context and self.context[k]["team"]}
        return {
            "kpi": {str(event.get("kpi_id"))},
            "owner": {str(event.get("owner"))},
            "severity": {str(event.get("severity"))},
            "rule": {str(event.get("rule"))},
            "objective": objectives,
            "team": teams,
        }

    def names_for(self, event: dict[str, Any]) -> list[str]:
        facts = self.facts(event)
        chosen: list[str] = []
        matched = False
        for route in self.routes:
            match = route.get("match") or {}
            if all(not wanted or facts[key] & set(wanted) for key, wanted in match.items()):
                matched = True
                chosen += [n for n in route["to"] if n not in chosen]
        if not matched:
            chosen = list(self.default) if self.default is not None else list(self.dests)
        return chosen

    def split(self, events: list[dict[str, Any]]) -> list[tuple[Channel, list[dict[str, Any]]]]:
        """(channel, its events) for every destination that gets something; in destination order."""
        per: dict[str, tuple[Channel, list[dict[str, Any]]]] = {}
        order = list(self.dests)
        for e in events:
            for name in self.names_for(e):
                d = self.dests.get(name)
                if d is None:
                    self._warn(name, f"route names destination {name!r}, which is switched off: skipped")
                    continue
                owner = None
                if d.to_owners and d.options.get("to"):  # the list too, then the owner
                    self._add(per, name, d, None, e)
                if d.to_owners:
                    owner = str(e.get("owner") or "")
                    if "@" not in owner:
                        self._warn(
                            f"{name}|{owner}",
                            f"{name}: owner {owner!r} is not an e-mail address: "
                            "its breaches are not e-mailed to it",
                        )
                        continue
                self._add(per, name, d, owner, e)
        return sorted(per.values(), key=lambda ce: (order.index(ce[0].name.split("/")[0]), ce[0].name))

    def _add(self, per: dict, name: str, d: Destination, owner: str | None, e: dict[str, Any]) -> None:
        key = f"{name}/{owner}" if owner else name
        if key not in per:
            channel = d.channel(owner)
            if channel is None and name in BUILT_IN and not self._named(name):
                return  # a built-in channel nobody set up and no route names: nothing to say
            if channel is None:
                self._warn(
                    name,
                    f"destination {name!r}: its URL variable {d.options.get('url_env')} is not set: skipped",
                )
                return
            per[key] = (channel, [])
        per[key][1].append(e)

    def _named(self, name: str) -> bool:
        """A route or default_route names this destination."""
        return any(name in (route.get("to") or []) for route in self.routes) or name in (self.default or [])

    def _warn(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log_event(logging.WARNING, "route_skipped", message)
