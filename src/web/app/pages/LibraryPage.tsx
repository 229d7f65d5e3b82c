import { useState } from 'react';
import { LibraryView } from '../components/LibraryView.tsx';
import { RecoveryBanner } from '../components/RecoveryBanner.tsx';
import { Link } from '../router.tsx';

export function LibraryPage() {
  // A recovered take is a new recording: reloading the list (a fresh view) shows it at the top.
  const [generation, setGeneration] = useState(0);
  return (
    <>
      <div className="page-head">
        <h1>Library</h1>
        <Link to="/record" className="button primary">
          New recording
        </Link>
      </div>
      <RecoveryBanner onRecovered={() => setGeneration((g) => g + 1)} />
      <LibraryView key={generation} />
    </>
  );
}
