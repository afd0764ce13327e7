// Sign in with name and password: the server sets the session cookie and the CSRF cookie.
import { api, ok, type Me } from '../api';
import { ApiForm, Field } from '../ui';

export function SignIn(props: { onSignedIn: (me: Me) => void }) {
  return (
    <main id="main" className="sign-in" tabIndex={-1}>
      <h1>Sign in to Dialwell</h1>
      <ApiForm
        label="Sign in"
        submitLabel="Sign in"
        submit={async (d) => {
          const me = await ok<Me>(api.POST('/api/v1/session', { body: { name: String(d.get('name') ?? ''), password: String(d.get('password') ?? '') } }));
          props.onSignedIn(me);
          return `Signed in as ${me.name}.`;
        }}
      >
        <Field name="name" label="Name" required autoComplete="username" />
        <Field name="password" label="Password" type="password" required autoComplete="current-password" />
      </ApiForm>
    </main>
  );
}
