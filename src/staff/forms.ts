import type { FieldErrors } from '../kernel/field-errors';

/** A form's errors for the staff views: by field, and as the list the error summary shows. */
export const formErrors = (errors: FieldErrors) => ({
  errors,
  errorList: Object.entries(errors).map(([field, message]) => ({ field, message })),
});
