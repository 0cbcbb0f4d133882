/* The wire protocol between berthd and berth-shim; see
 * docs/SHIM-PROTOCOL.md for the messages.  Shared by both sides. */
#pragma once

#define SHIM_PROTOCOL_VERSION 1
#define SHIM_CONFIG_FILE      "shim.json"
#define SHIM_SOCKET_FILE      "shim.sock"
#define SHIM_PID_FILE         "shim.pid"
#define SHIM_EXIT_FILE        "exit.json"
#define SHIM_READY_FD         3
/* Largest request or answer message. */
#define SHIM_MSG_MAX (256 * 1024)
