import * as z from 'zod/mini';
import { en } from 'zod/locales';

/**
 * zod/mini answers "Invalid input" for every issue unless a locale is configured: the English
 * messages are those of zod's classic form, which the answers have always carried. Imported, for
 * its effect, by every module of request schemas whose messages reach a caller.
 */
z.config(en());
