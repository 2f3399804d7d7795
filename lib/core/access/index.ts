export { KeyRole, canWrite, roleAllows, type Principal, type Role } from './roles.js';
