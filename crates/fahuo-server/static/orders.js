// fahuo console, written for this project: the order list (bulk selection, keyboard).
"use strict";
