import { useState } from 'react';
import { LegacyImportBanner } from '../components/LegacyImportBanner.tsx';
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
        <div className="actions">
          <Link to="/imports">Import history</Link>
          <Link to="/record" className="button primary">
            New recording
          </Link>
        </div>
      </div>
      <RecoveryBanner onRecovered={() => setGeneration((g) => g + 1)} />
      <LegacyImportBanner onImported={() => setGeneration((g) => g + 1)} />
      <LibraryView key={generation} />
    </>
  );
}
