// Registers the texts of Pracoviště when its chunk loads (see desk-cs.ts).
import { deskCs } from "./desk-cs";
import { deskEn } from "./desk-en";
import { registerMessages } from "./index";

registerMessages({ cs: deskCs, en: deskEn });
