// Registers the texts of the routing pages when their chunk loads (see routing-cs.ts).
import { registerMessages } from "./index";
import { routingCs } from "./routing-cs";
import { routingEn } from "./routing-en";

registerMessages({ cs: routingCs, en: routingEn });
