// The signed-in user's own password (the current one is asked again).
import { api, ok, type Me } from '../api';
import { ApiForm, Field, Section } from '../ui';

export function Account(props: { me: Me }) {
  return (
    <>
      <h1>Your account</h1>
      <p>{props.me.name}, role {props.me.role}. Changing your password ends your other sessions.</p>
      <Section title="Change password">
        <ApiForm
          label="Change password"
          submit={async (d) => {
            await ok(api.PUT('/api/v1/me/password', { body: { currentPassword: String(d.get('currentPassword')), password: String(d.get('password')) } }));
            return 'Password changed.';
          }}
        >
          <Field name="currentPassword" label="Current password" type="password" required autoComplete="current-password" />
          <Field name="password" label="New password" type="password" required autoComplete="new-password" description="At least 10 characters." />
        </ApiForm>
      </Section>
    </>
  );
}
