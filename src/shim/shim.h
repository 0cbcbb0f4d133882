/* berth-shim's main loop: runs the container described by STATE_DIR's
 * shim.json until it exited (docs/SHIM-PROTOCOL.md).  Returns an exit
 * status only when it failed early. */
#pragma once

int shim_main(const char *state_dir);
