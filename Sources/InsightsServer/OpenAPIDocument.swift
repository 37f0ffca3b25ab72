/// The OpenAPI 3.1 document of the front, served at `GET /openapi.json` (docs/api.md points here).
/// The single source of truth for the API's shapes: keep it in step with the controllers;
/// `e2e/test_openapi.py` runs schemathesis against it (no 5xx, every response matches).
enum OpenAPIDocument {
    static let json = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "Insights",
    "version": "1.0.0",
    "description": "Real-time analytics for conversational AI platforms. Every error is JSON {\"error\": ..., \"detail\": ...}. An optional query parameter given empty is the same as absent. Metric definitions: docs/metrics.md; limits: docs/api.md."
  },
  "servers": [
    {
      "url": "/"
    }
  ],
  "security": [
    {},
    {
      "bearer": []
    }
  ],
  "paths": {
    "/health": {
      "get": {
        "summary": "Liveness: the process answers (does not touch Redis).",
        "tags": [
          "status"
        ],
        "security": [],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Health"
                }
              }
            }
          }
        }
      }
    },
    "/ready": {
      "get": {
        "summary": "Readiness: Redis answers PING.",
        "tags": [
          "status"
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Health"
                }
              }
            }
          },
          "503": {
            "description": "Redis unreachable",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Health"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          }
        }
      }
    },
    "/openapi.json": {
      "get": {
        "summary": "This document.",
        "tags": [
          "status"
        ],
        "security": [],
        "responses": {
          "200": {
            "description": "OpenAPI 3.1 document",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          }
        }
      }
    },
    "/api/v1/agents": {
      "get": {
        "summary": "Agents that have sent events (sorted).",
        "tags": [
          "status"
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Agents"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/v1/status": {
      "get": {
        "summary": "Worker-group lag and pending entries, in total and per agent.",
        "tags": [
          "status"
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Status"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "503": {
            "description": "Redis unreachable",
            "headers": {
              "Retry-After": {
                "schema": {
                  "type": "string"
                },
                "description": "seconds"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Status"
                }
              }
            }
          }
        }
      }
    },
    "/api/v1/events": {
      "post": {
        "summary": "Ingest a batch of events (partial acceptance).",
        "tags": [
          "ingest"
        ],
        "description": "Limits: body at most 1 MiB (413), at most 1000 events (413), the whole request received within 10 s (408, then the connection is closed). Valid events are written atomically in one script call; invalid ones are listed in `rejected` with their index and reason. A non-empty batch with no valid event is a 400 whose detail names the first five problems (`event <index>: <field>: <reason>`).",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/EventBatch"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/IngestResult"
                }
              }
            }
          },
          "400": {
            "description": "Not JSON, not a batch, or no valid event in the batch.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "408": {
            "description": "The body was not received within the request deadline.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "413": {
            "description": "Body over 1 MiB or more than 1000 events.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/v1/analytics/conversations/metrics": {
      "get": {
        "summary": "Conversation metrics over a window.",
        "tags": [
          "analytics"
        ],
        "parameters": [
          {
            "name": "agent_id",
            "in": "query",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1
            },
            "description": "the agent (chat bot) to report on"
          },
          {
            "name": "start_date",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "allowEmptyValue": true,
            "description": "window start (ISO-8601 date or date-time); default end_date − 30 days; must be before end_date"
          },
          {
            "name": "end_date",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "allowEmptyValue": true,
            "description": "window end (exclusive); default now"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ConversationMetrics"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/v1/analytics/conversations/timeseries": {
      "get": {
        "summary": "One point per bucket of the interval.",
        "tags": [
          "analytics"
        ],
        "parameters": [
          {
            "name": "agent_id",
            "in": "query",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1
            },
            "description": "the agent (chat bot) to report on"
          },
          {
            "name": "start_date",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "allowEmptyValue": true,
            "description": "window start (ISO-8601 date or date-time); default end_date − 30 days; must be before end_date"
          },
          {
            "name": "end_date",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "allowEmptyValue": true,
            "description": "window end (exclusive); default now"
          },
          {
            "name": "interval",
            "in": "query",
            "required": false,
            "allowEmptyValue": true,
            "schema": {
              "type": "string",
              "enum": [
                "minute",
                "hour",
                "day"
              ],
              "default": "hour"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Timeseries"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "description": "A window needing more than 2000 points is refused with 400 (choose a coarser interval)."
      }
    },
    "/api/v1/analytics/nlu/metrics": {
      "get": {
        "summary": "Intent distribution and confidence.",
        "tags": [
          "analytics"
        ],
        "parameters": [
          {
            "name": "agent_id",
            "in": "query",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1
            },
            "description": "the agent (chat bot) to report on"
          },
          {
            "name": "start_date",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "allowEmptyValue": true,
            "description": "window start (ISO-8601 date or date-time); default end_date − 30 days; must be before end_date"
          },
          {
            "name": "end_date",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "allowEmptyValue": true,
            "description": "window end (exclusive); default now"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/NLUMetrics"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/v1/analytics/users/drop-off": {
      "get": {
        "summary": "Dropped sessions by last classified intent.",
        "tags": [
          "analytics"
        ],
        "parameters": [
          {
            "name": "agent_id",
            "in": "query",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1
            },
            "description": "the agent (chat bot) to report on"
          },
          {
            "name": "start_date",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "allowEmptyValue": true,
            "description": "window start (ISO-8601 date or date-time); default end_date − 30 days; must be before end_date"
          },
          {
            "name": "end_date",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "allowEmptyValue": true,
            "description": "window end (exclusive); default now"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/DropOff"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/v1/analytics/business/automation-rate": {
      "get": {
        "summary": "Share of finalized sessions without escalation.",
        "tags": [
          "analytics"
        ],
        "parameters": [
          {
            "name": "agent_id",
            "in": "query",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1
            },
            "description": "the agent (chat bot) to report on"
          },
          {
            "name": "start_date",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "allowEmptyValue": true,
            "description": "window start (ISO-8601 date or date-time); default end_date − 30 days; must be before end_date"
          },
          {
            "name": "end_date",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "allowEmptyValue": true,
            "description": "window end (exclusive); default now"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/AutomationRate"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/v1/analytics/business/cost-savings": {
      "get": {
        "summary": "Automated sessions × cost per interaction.",
        "tags": [
          "analytics"
        ],
        "parameters": [
          {
            "name": "agent_id",
            "in": "query",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1
            },
            "description": "the agent (chat bot) to report on"
          },
          {
            "name": "start_date",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "allowEmptyValue": true,
            "description": "window start (ISO-8601 date or date-time); default end_date − 30 days; must be before end_date"
          },
          {
            "name": "end_date",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "allowEmptyValue": true,
            "description": "window end (exclusive); default now"
          },
          {
            "name": "cost_per_interaction",
            "in": "query",
            "required": false,
            "allowEmptyValue": true,
            "schema": {
              "type": "number",
              "minimum": 0,
              "maximum": 1000000,
              "default": 5.0
            }
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/CostSavings"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/v1/analytics/dashboard/overview": {
      "get": {
        "summary": "Headline metrics and changes against the previous period.",
        "tags": [
          "analytics"
        ],
        "parameters": [
          {
            "name": "agent_id",
            "in": "query",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1
            },
            "description": "the agent (chat bot) to report on"
          },
          {
            "name": "timeframe",
            "in": "query",
            "required": false,
            "allowEmptyValue": true,
            "schema": {
              "type": "string",
              "enum": [
                "24h",
                "7d",
                "30d",
                "90d"
              ],
              "default": "30d"
            }
          },
          {
            "name": "cost_per_interaction",
            "in": "query",
            "required": false,
            "allowEmptyValue": true,
            "schema": {
              "type": "number",
              "minimum": 0,
              "maximum": 1000000,
              "default": 5.0
            }
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Overview"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/v1/analytics/users/journey/{session_id}": {
      "get": {
        "summary": "A session's events in event-time order.",
        "tags": [
          "analytics"
        ],
        "parameters": [
          {
            "name": "session_id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1
            }
          },
          {
            "name": "agent_id",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "allowEmptyValue": true,
            "description": "the session's agent; without it every agent is checked"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Journey"
                }
              }
            }
          },
          "404": {
            "description": "No journey for this session (yet).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/": {
      "get": {
        "summary": "The dashboard page.",
        "tags": [
          "dashboard"
        ],
        "security": [],
        "responses": {
          "200": {
            "description": "index.html",
            "content": {
              "text/html": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          }
        }
      }
    },
    "/assets/{file}": {
      "get": {
        "summary": "A dashboard asset.",
        "tags": [
          "dashboard"
        ],
        "security": [],
        "parameters": [
          {
            "name": "file",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "enum": [
                "app.js",
                "style.css"
              ]
            }
          }
        ],
        "responses": {
          "200": {
            "description": "the file",
            "content": {
              "text/javascript": {
                "schema": {
                  "type": "string"
                }
              },
              "text/css": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          }
        }
      }
    },
    "/vendor/chart.min.js": {
      "get": {
        "summary": "Chart.js (Debian libjs-chart.js).",
        "tags": [
          "dashboard"
        ],
        "security": [],
        "responses": {
          "200": {
            "description": "the file",
            "content": {
              "text/javascript": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          }
        }
      }
    }
  },
  "components": {
    "schemas": {
      "Error": {
        "type": "object",
        "properties": {
          "error": {
            "type": "string",
            "description": "what is wrong, short"
          },
          "detail": {
            "type": [
              "string",
              "null"
            ],
            "description": "details, null when there are none"
          }
        },
        "required": [
          "error",
          "detail"
        ],
        "additionalProperties": false,
        "description": "Every error answer of the API (APIError)."
      },
      "Health": {
        "type": "object",
        "properties": {
          "status": {
            "type": "string",
            "enum": [
              "ok",
              "unavailable"
            ]
          },
          "redis": {
            "type": "string",
            "enum": [
              "ok",
              "unreachable"
            ]
          }
        },
        "required": [
          "status"
        ],
        "additionalProperties": false
      },
      "Agents": {
        "type": "object",
        "properties": {
          "agents": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "sorted"
          }
        },
        "required": [
          "agents"
        ],
        "additionalProperties": false
      },
      "AgentStatus": {
        "type": "object",
        "properties": {
          "lag": {
            "type": "integer",
            "minimum": 0
          },
          "pending": {
            "type": "integer",
            "minimum": 0
          }
        },
        "required": [
          "lag",
          "pending"
        ],
        "additionalProperties": false
      },
      "Status": {
        "type": "object",
        "properties": {
          "redis": {
            "type": "string",
            "enum": [
              "ok",
              "unreachable"
            ]
          },
          "lag": {
            "type": "integer",
            "minimum": 0,
            "description": "entries not yet delivered to the worker group"
          },
          "pending": {
            "type": "integer",
            "minimum": 0,
            "description": "entries delivered but not yet acknowledged"
          },
          "agents": {
            "type": "object",
            "additionalProperties": {
              "$ref": "#/components/schemas/AgentStatus"
            }
          },
          "error": {
            "type": "string"
          }
        },
        "required": [
          "redis"
        ],
        "additionalProperties": false,
        "description": "200: redis ok with lag, pending, agents; 503: redis unreachable with error."
      },
      "Event": {
        "type": "object",
        "description": "An analytics event. Unknown members are ignored; null is the same as absent. Rules beyond this schema (reported per element in `rejected`): timestamp between 2000-01-01 and now + 5 minutes; data at most 16384 bytes as compact JSON and 32 levels deep; data.intent a non-empty string of at most 128 characters without control characters; data.escalated_to_human a boolean; text fields without control characters.",
        "required": [
          "event_type",
          "session_id",
          "agent_id"
        ],
        "properties": {
          "event_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128,
            "pattern": "^[A-Za-z0-9._:@-]+$",
            "description": "idempotency key; a new UUID when absent"
          },
          "event_type": {
            "type": "string",
            "enum": [
              "conversation_start",
              "conversation_end",
              "user_message",
              "bot_response",
              "intent_classified",
              "entity_extracted",
              "workflow_started",
              "workflow_completed",
              "workflow_failed",
              "api_call",
              "error",
              "user_feedback",
              "custom"
            ]
          },
          "timestamp": {
            "type": "string",
            "format": "date-time",
            "description": "ISO-8601; now when absent"
          },
          "session_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128,
            "pattern": "^[A-Za-z0-9._:@-]+$"
          },
          "user_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128,
            "pattern": "^[A-Za-z0-9._:@-]+$"
          },
          "agent_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128,
            "pattern": "^[A-Za-z0-9._:@-]+$"
          },
          "data": {
            "type": "object"
          },
          "channel": {
            "type": "string",
            "maxLength": 64
          },
          "platform": {
            "type": "string",
            "maxLength": 64
          },
          "location": {
            "type": "string",
            "maxLength": 64
          },
          "sentiment": {
            "type": "string",
            "maxLength": 64
          },
          "duration_ms": {
            "type": "integer",
            "minimum": 0,
            "maximum": 86400000
          },
          "response_time_ms": {
            "type": "integer",
            "minimum": 0,
            "maximum": 86400000
          },
          "confidence": {
            "type": "number",
            "minimum": 0,
            "maximum": 1
          }
        }
      },
      "EventBatch": {
        "description": "A JSON array of events, or an object with an `events` array (other members ignored). At most 1000 events (413 beyond). Each element is checked on its own: the invalid ones are listed in `rejected`, the valid ones are written.",
        "oneOf": [
          {
            "type": "array",
            "maxItems": 1000,
            "items": {
              "$ref": "#/components/schemas/Event"
            }
          },
          {
            "type": "object",
            "required": [
              "events"
            ],
            "properties": {
              "events": {
                "type": "array",
                "maxItems": 1000,
                "items": {
                  "$ref": "#/components/schemas/Event"
                }
              }
            }
          }
        ]
      },
      "RejectedEvent": {
        "type": "object",
        "properties": {
          "index": {
            "type": "integer",
            "minimum": 0,
            "description": "position in the batch"
          },
          "error": {
            "type": "string",
            "description": "field and reason"
          }
        },
        "required": [
          "index",
          "error"
        ],
        "additionalProperties": false
      },
      "IngestResult": {
        "type": "object",
        "properties": {
          "accepted": {
            "type": "integer",
            "minimum": 0,
            "description": "events written"
          },
          "duplicates": {
            "type": "integer",
            "minimum": 0,
            "description": "events whose event_id was already seen (not written again)"
          },
          "rejected": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/RejectedEvent"
            }
          }
        },
        "required": [
          "accepted",
          "duplicates",
          "rejected"
        ],
        "additionalProperties": false
      },
      "ConversationMetrics": {
        "type": "object",
        "properties": {
          "total_conversations": {
            "type": "integer",
            "minimum": 0
          },
          "avg_conversation_length": {
            "type": "number",
            "minimum": 0
          },
          "completion_rate": {
            "type": "number",
            "minimum": 0
          },
          "avg_response_time_ms": {
            "type": "number",
            "minimum": 0
          },
          "total_messages": {
            "type": "integer",
            "minimum": 0
          },
          "total_events": {
            "type": "integer",
            "minimum": 0
          },
          "p50_response_time_ms": {
            "type": "number",
            "minimum": 0
          },
          "p95_response_time_ms": {
            "type": "number",
            "minimum": 0
          },
          "p99_response_time_ms": {
            "type": "number",
            "minimum": 0
          },
          "resolution": {
            "type": "string",
            "enum": [
              "minute",
              "hour",
              "day"
            ],
            "description": "minute normally; hour or day when an edge was rounded because finer buckets had expired"
          },
          "effective_start": {
            "type": "string",
            "format": "date-time",
            "description": "the window actually answered, after alignment and clamping"
          },
          "effective_end": {
            "type": "string",
            "format": "date-time"
          }
        },
        "required": [
          "total_conversations",
          "avg_conversation_length",
          "completion_rate",
          "avg_response_time_ms",
          "total_messages",
          "total_events",
          "p50_response_time_ms",
          "p95_response_time_ms",
          "p99_response_time_ms",
          "resolution",
          "effective_start",
          "effective_end"
        ],
        "additionalProperties": false
      },
      "NLUMetrics": {
        "type": "object",
        "properties": {
          "intent_distribution": {
            "type": "object",
            "additionalProperties": {
              "type": "integer",
              "minimum": 0
            }
          },
          "avg_confidence": {
            "type": "number",
            "minimum": 0,
            "maximum": 1
          },
          "low_confidence_rate": {
            "type": "number",
            "minimum": 0,
            "maximum": 100
          },
          "fallback_rate": {
            "type": "number",
            "minimum": 0,
            "maximum": 100
          },
          "total_classifications": {
            "type": "integer",
            "minimum": 0
          },
          "resolution": {
            "type": "string",
            "enum": [
              "minute",
              "hour",
              "day"
            ],
            "description": "minute normally; hour or day when an edge was rounded because finer buckets had expired"
          },
          "effective_start": {
            "type": "string",
            "format": "date-time",
            "description": "the window actually answered, after alignment and clamping"
          },
          "effective_end": {
            "type": "string",
            "format": "date-time"
          }
        },
        "required": [
          "intent_distribution",
          "avg_confidence",
          "low_confidence_rate",
          "fallback_rate",
          "total_classifications",
          "resolution",
          "effective_start",
          "effective_end"
        ],
        "additionalProperties": false
      },
      "DropOff": {
        "type": "object",
        "properties": {
          "drop_off_points": {
            "type": "object",
            "additionalProperties": {
              "type": "integer",
              "minimum": 0
            }
          },
          "total_incomplete_sessions": {
            "type": "integer",
            "minimum": 0
          },
          "resolution": {
            "type": "string",
            "enum": [
              "minute",
              "hour",
              "day"
            ],
            "description": "minute normally; hour or day when an edge was rounded because finer buckets had expired"
          },
          "effective_start": {
            "type": "string",
            "format": "date-time",
            "description": "the window actually answered, after alignment and clamping"
          },
          "effective_end": {
            "type": "string",
            "format": "date-time"
          }
        },
        "required": [
          "drop_off_points",
          "total_incomplete_sessions",
          "resolution",
          "effective_start",
          "effective_end"
        ],
        "additionalProperties": false
      },
      "AutomationRate": {
        "type": "object",
        "properties": {
          "automation_rate": {
            "type": "number",
            "minimum": 0,
            "maximum": 100
          },
          "resolution": {
            "type": "string",
            "enum": [
              "minute",
              "hour",
              "day"
            ],
            "description": "minute normally; hour or day when an edge was rounded because finer buckets had expired"
          },
          "effective_start": {
            "type": "string",
            "format": "date-time",
            "description": "the window actually answered, after alignment and clamping"
          },
          "effective_end": {
            "type": "string",
            "format": "date-time"
          }
        },
        "required": [
          "automation_rate",
          "resolution",
          "effective_start",
          "effective_end"
        ],
        "additionalProperties": false
      },
      "CostSavings": {
        "type": "object",
        "properties": {
          "total_conversations": {
            "type": "integer",
            "minimum": 0
          },
          "automated_conversations": {
            "type": "integer",
            "minimum": 0
          },
          "automation_rate": {
            "type": "number",
            "minimum": 0,
            "maximum": 100
          },
          "cost_savings": {
            "type": "number",
            "minimum": 0
          },
          "cost_per_interaction": {
            "type": "number",
            "minimum": 0
          },
          "resolution": {
            "type": "string",
            "enum": [
              "minute",
              "hour",
              "day"
            ],
            "description": "minute normally; hour or day when an edge was rounded because finer buckets had expired"
          },
          "effective_start": {
            "type": "string",
            "format": "date-time",
            "description": "the window actually answered, after alignment and clamping"
          },
          "effective_end": {
            "type": "string",
            "format": "date-time"
          }
        },
        "required": [
          "total_conversations",
          "automated_conversations",
          "automation_rate",
          "cost_savings",
          "cost_per_interaction",
          "resolution",
          "effective_start",
          "effective_end"
        ],
        "additionalProperties": false
      },
      "Overview": {
        "type": "object",
        "properties": {
          "timeframe": {
            "type": "string",
            "enum": [
              "24h",
              "7d",
              "30d",
              "90d"
            ]
          },
          "conversation_metrics": {
            "$ref": "#/components/schemas/ConversationMetrics"
          },
          "nlu_metrics": {
            "$ref": "#/components/schemas/NLUMetrics"
          },
          "automation_rate": {
            "type": "number",
            "minimum": 0,
            "maximum": 100
          },
          "cost_savings": {
            "$ref": "#/components/schemas/CostSavings"
          },
          "changes": {
            "type": "object",
            "description": "headline metric → % change against the previous period; null when the previous value is 0",
            "additionalProperties": {
              "type": [
                "number",
                "null"
              ]
            }
          }
        },
        "required": [
          "timeframe",
          "conversation_metrics",
          "nlu_metrics",
          "automation_rate",
          "cost_savings",
          "changes"
        ],
        "additionalProperties": false
      },
      "TimeseriesPoint": {
        "type": "object",
        "properties": {
          "date": {
            "type": "string",
            "format": "date-time"
          },
          "conversations": {
            "type": "integer",
            "minimum": 0
          },
          "messages": {
            "type": "integer",
            "minimum": 0
          },
          "events": {
            "type": "integer",
            "minimum": 0
          },
          "avg_response_time_ms": {
            "type": "number",
            "minimum": 0
          },
          "intents": {
            "type": "integer",
            "minimum": 0
          },
          "fallbacks": {
            "type": "integer",
            "minimum": 0
          },
          "escalations": {
            "type": "integer",
            "minimum": 0
          },
          "workflows_started": {
            "type": "integer",
            "minimum": 0
          },
          "workflows_completed": {
            "type": "integer",
            "minimum": 0
          }
        },
        "required": [
          "date",
          "conversations",
          "messages",
          "events",
          "avg_response_time_ms",
          "intents",
          "fallbacks",
          "escalations",
          "workflows_started",
          "workflows_completed"
        ],
        "additionalProperties": false
      },
      "Timeseries": {
        "type": "object",
        "properties": {
          "interval": {
            "type": "string",
            "enum": [
              "minute",
              "hour",
              "day"
            ]
          },
          "points": {
            "type": "array",
            "maxItems": 2000,
            "items": {
              "$ref": "#/components/schemas/TimeseriesPoint"
            }
          }
        },
        "required": [
          "interval",
          "points"
        ],
        "additionalProperties": false
      },
      "JourneyEvent": {
        "type": "object",
        "properties": {
          "timestamp": {
            "type": "string",
            "format": "date-time"
          },
          "type": {
            "type": "string"
          },
          "data": {
            "type": "object"
          },
          "event_id": {
            "type": "string"
          },
          "intent": {
            "type": "string"
          },
          "response_time_ms": {
            "type": "integer",
            "minimum": 0
          }
        },
        "required": [
          "timestamp",
          "type",
          "data"
        ],
        "additionalProperties": false
      },
      "Journey": {
        "type": "object",
        "properties": {
          "session_id": {
            "type": "string"
          },
          "agent_id": {
            "type": "string"
          },
          "journey": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/JourneyEvent"
            },
            "description": "in event-time order"
          }
        },
        "required": [
          "session_id",
          "agent_id",
          "journey"
        ],
        "additionalProperties": false
      }
    },
    "responses": {
      "BadRequest": {
        "description": "Invalid parameter or body; `error` names it, `detail` says why.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "NotFound": {
        "description": "No such route or resource.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "Unauthorized": {
        "description": "Missing or unknown API key (only when API keys are configured).",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "headers": {
          "WWW-Authenticate": {
            "schema": {
              "type": "string"
            }
          }
        }
      },
      "Forbidden": {
        "description": "The key lacks the scope for this route or may not access the agent.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "TooManyRequests": {
        "description": "The key's ingest rate limit is exhausted; nothing of the batch was written.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "headers": {
          "Retry-After": {
            "schema": {
              "type": "string"
            },
            "description": "seconds"
          }
        }
      },
      "Unavailable": {
        "description": "Redis is unreachable (or an agent's stream is at its cap): retry after Retry-After.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "headers": {
          "Retry-After": {
            "schema": {
              "type": "string"
            },
            "description": "seconds"
          }
        }
      }
    },
    "securitySchemes": {
      "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (only when keys are configured; otherwise no credential is needed)."
      }
    }
  }
}
"""#
}
