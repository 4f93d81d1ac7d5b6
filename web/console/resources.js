// What the console lists and edits: one entry per API collection of the merchant, with the form's
// fields named exactly as the API's request fields (so an error's ``field`` finds its input).

const STRATEGIES = ["longest_idle", "round_robin", "most_skilled"];

export const RESOURCES = [
  {
    key: "queues",
    title: "Queues",
    noun: "queue",
    path: "/queues",
    id: "queue_id",
    editable: true,
    fields: [
      { name: "name" },
      { name: "priority", type: "number", placeholder: "1 (most urgent) to 10; 5" },
      { name: "strategy", type: "select", options: STRATEGIES },
      { name: "max_wait_seconds", type: "number", placeholder: "300" },
      { name: "wrap_up_seconds", type: "number", placeholder: "0" },
      { name: "service_level_seconds", type: "number", placeholder: "20" },
      // The share of answered calls recorded (0 to 100; a per-contact hash picks them).
      { name: "recording_percent", type: "number", label: "recorded %", placeholder: "0" },
      // What a queued caller hears; a change replaces them together (the API's media object).
      { name: "media.greeting", label: "default greeting", placeholder: "greeting" },
      { name: "media.announce_every_seconds", type: "number", label: "announce every seconds", placeholder: "30" },
      // The merchant's own uploads (the Prompts section), played instead of the defaults.
      { name: "media.greeting_prompt", label: "your greeting prompt", placeholder: "an uploaded prompt's name" },
      { name: "media.music_prompt", label: "your music prompt", placeholder: "an uploaded prompt's name" },
    ],
    columns: [
      { name: "queue_id", label: "id" },
      { name: "name" },
      { name: "priority" },
      { name: "strategy" },
      { name: "max_wait_seconds", label: "max wait s" },
      { name: "wrap_up_seconds", label: "wrap-up s" },
      { name: "service_level_seconds", label: "service level s" },
      { name: "recording_percent", label: "recorded %" },
      { name: "greeting", value: (q) => q.media?.greeting },
      { name: "announce every s", value: (q) => q.media?.announce_every_seconds },
      { name: "your greeting", value: (q) => q.media?.greeting_prompt },
      { name: "your music", value: (q) => q.media?.music_prompt },
    ],
  },
  {
    key: "numbers",
    title: "Numbers",
    noun: "number",
    path: "/numbers",
    id: "number",
    fields: [
      { name: "number", placeholder: "+14155550100" },
      { name: "queue_id" },
    ],
    columns: [{ name: "number" }, { name: "queue_id", label: "queue" }, { name: "mode" }],
  },
  {
    key: "seats",
    title: "Seats",
    noun: "seat",
    path: "/seats",
    id: "seat_id",
    editable: true,
    help: "A seat is one licence: a SIP phone and the agent who signs in to it.",
    fields: [
      { name: "display_name", label: "display name" },
      { name: "queue_ids", type: "list", label: "queue ids (comma-separated)" },
      { name: "ring_timeout_seconds", type: "number", label: "ring timeout seconds" },
    ],
    columns: [
      { name: "seat_id", label: "id" },
      { name: "display_name", label: "name" },
      { name: "queue_ids", label: "queues" },
      { name: "sip_username", label: "SIP user" },
      { name: "state", value: (s) => s.state ?? s.agent?.state },
    ],
    created: (s) => `Seat ${s.seat_id} created. SIP user ${s.sip.username}, password ${s.sip.password} (shown once), registrar ${s.sip.registrar}.`,
    actions: [
      {
        label: "New SIP password",
        method: "POST",
        suffix: "/credentials",
        show: (c) => `New SIP password for ${c.username}: ${c.password} (shown once)`,
      },
    ],
  },
  {
    key: "users",
    title: "Agents and supervisors",
    noun: "user",
    path: "/users",
    id: "user_id",
    help: "Without a password, the user gets a one-time invite link token to choose one.",
    fields: [
      { name: "user_id", label: "user id" },
      { name: "role", type: "select", options: ["agent", "supervisor"] },
      { name: "seat_id", label: "seat id (an agent's)" },
      { name: "queue_ids", type: "list", label: "queue ids (a supervisor's)" },
      { name: "password", type: "password" },
    ],
    columns: [
      { name: "user_id", label: "id" },
      { name: "role" },
      { name: "seat_id", label: "seat" },
      { name: "queue_ids", label: "queues" },
      { name: "password_set", label: "password set" },
    ],
    created: (u) => (u.invite ? `Invite token for ${u.user_id} (shown once): ${u.invite.invite_token}` : `User ${u.user_id} created.`),
    actions: [
      {
        label: "New invite",
        method: "POST",
        suffix: "/invites",
        show: (i) => `Invite token (shown once): ${i.invite_token}`,
      },
    ],
  },
  {
    key: "trunks",
    title: "Trunks",
    noun: "trunk",
    path: "/trunks",
    id: "trunk_id",
    editable: true,
    help: "The merchant's own trunks (its legacy PBX): where calls may come from, and where calls to it go.",
    fields: [
      { name: "name" },
      { name: "source_cidrs", type: "list", label: "source CIDRs (comma-separated)" },
      { name: "address", placeholder: "pbx.example.com:5060" },
      { name: "transport", type: "select", options: ["udp", "tcp", "tls"] },
      { name: "max_concurrent_calls", type: "number", label: "max concurrent calls" },
    ],
    columns: [
      { name: "trunk_id", label: "id" },
      { name: "name" },
      { name: "source_cidrs", label: "sources" },
      { name: "address" },
      { name: "transport" },
      { name: "max_concurrent_calls", label: "max calls" },
    ],
  },
];
