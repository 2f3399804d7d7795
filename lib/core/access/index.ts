/**
 * Who may do what: the roles of API keys and operators, and the checks every route applies.
 * This file is the context's public face: other contexts and the hosts import only what it exports.
 */
export { KeyRole, canWrite, roleAllows, type Principal, type Role } from './roles.js';
