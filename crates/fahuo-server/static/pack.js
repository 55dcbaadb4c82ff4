// fahuo console, written for this project: the pack station (scanner input, feedback).
"use strict";
